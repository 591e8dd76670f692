"""What every task family shares: generation from a seed, phrasings, strict/tolerant scoring.

A family makes one *instance* at a time from a `random.Random` (`make`), fills one of its
instruction phrasings with the instance's fields, and knows the gold answer. Its scorer has
two modes:

- strict: the prediction is exactly the expected answer in the expected format (surrounding
  whitespace aside); this is what the training completions look like.
- tolerant: the right answer in another format still counts ("Positive!", "The sentiment is
  positive.", JSON instead of plain text). Each family documents its rule in `tolerant_rule`.

Instances carry a semantic `key` (the input without the phrasing), so a review that sits in a
test set can never reach a training mix under another phrasing.
"""

import hashlib
import json
import random
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Optional

from iftkit.data.rows import Row

MODES = ("strict", "tolerant")


@dataclass
class Instance:
    fields: dict  # values for the phrasing templates
    completion: str  # the answer in the strict format
    gold: Any  # what the scorer compares against (JSON-serialisable)
    key: str  # semantic identity of the instance (input content, no phrasing)


class Task:
    name: str = ""
    category: str = ""
    description: str = ""
    answer_format: str = ""  # the strict format, in words
    tolerant_rule: str = ""  # what else counts in tolerant mode, in words
    phrasings: tuple = ()  # str.format templates over Instance.fields
    # shape of a strict-format answer, whatever its content (used by format_ok)
    format_re: str = r"[^\n]+"
    # classification families name their labels: a user task with the same labels overlaps them
    labels: tuple = ()
    # False for tasks without a checker (free text): task scorers do not apply
    checkable: bool = True

    # --- to implement -------------------------------------------------------------------
    def make(self, rng: random.Random, difficulty: int) -> Instance:
        raise NotImplementedError

    def strict(self, prediction: str, gold: Any) -> bool:
        return prediction.strip() == str(gold)

    def tolerant(self, prediction: str, gold: Any) -> bool:
        return self.strict(prediction, gold)

    def format_ok(self, prediction: str, gold: Any = None) -> bool:
        """Is the output in the task's exact expected format (right or wrong)? `gold`, where given,
        lets a format depend on the row (a record list's fields); without it the task's own rule."""
        return prediction is not None and re.fullmatch(self.format_re, str(prediction).strip()) is not None

    # --- shared -------------------------------------------------------------------------
    def score(self, prediction: str, gold: Any, mode: str = "strict") -> float:
        """1.0 if the prediction is correct under `mode` ('strict' or 'tolerant'), else 0.0."""
        if mode not in MODES:
            raise ValueError(f"scoring mode must be one of {MODES}, got {mode!r}")
        if prediction is None:
            return 0.0
        prediction = str(prediction)
        ok = self.strict(prediction, gold) if mode == "strict" else (
            self.strict(prediction, gold) or self.tolerant(prediction, gold))
        return 1.0 if ok else 0.0

    def score_values(self, mode: str = "strict") -> str:
        """What one score under `mode` is: "binary" (1.0 or 0.0, as here) or "continuous" (a share)."""
        return "binary"

    def row(self, inst: Instance, phrasing: int, difficulty: int, source: str = "catalog") -> Row:
        content = self.phrasings[phrasing].format(**inst.fields)
        return Row(
            prompt=[{"role": "user", "content": content}],
            completion=inst.completion,
            task=self.name,
            category=self.category,
            gold=inst.gold,
            source=source,
            meta={"key": key_hash(self.name, inst.key), "difficulty": difficulty, "phrasing": phrasing},
        )

    def generate(self, n: int, seed, difficulty: int = 1, exclude_keys=frozenset(),
                 source: str = "catalog", max_tries: Optional[int] = None) -> list[Row]:
        """Up to n rows with distinct instance keys, none in `exclude_keys`, reproducible from seed.

        Families with a small instance space (fact_qa) may return fewer than n rows.
        """
        rng = random.Random(seed_int("gen", self.name, seed, difficulty))
        rows, seen = [], set(exclude_keys)
        tries = max_tries if max_tries is not None else 50 * n + 200
        misses = 0
        while len(rows) < n and misses < tries:
            inst = self.make(rng, difficulty)
            phrasing = rng.randrange(len(self.phrasings))
            k = key_hash(self.name, inst.key)
            if k in seen:
                misses += 1
                continue
            seen.add(k)
            rows.append(self.row(inst, phrasing, difficulty, source))
        return rows

    def info(self) -> dict:
        return {"name": self.name, "category": self.category, "description": self.description,
                "answer_format": self.answer_format, "tolerant_rule": self.tolerant_rule,
                "phrasings": len(self.phrasings)}


# --- helpers shared by the families ------------------------------------------------------

def seed_int(*parts) -> int:
    """A stable 64-bit seed from any parts (never Python's salted hash())."""
    blob = "|".join(str(p) for p in parts)
    return int(hashlib.sha256(blob.encode()).hexdigest()[:16], 16)


def key_hash(task: str, key: str) -> str:
    return hashlib.sha256(f"{task}\x00{key}".encode()).hexdigest()[:16]


_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = re.compile(r"[^\w\s@.\-]|(?<!\w)[.\-]|[.\-](?!\w)")


def strip_accents(s: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))


def normalize(s: str) -> str:
    """SQuAD-style: lower case, accents and punctuation dropped, articles dropped, spaces collapsed."""
    s = strip_accents(s.lower())
    s = re.sub(r"[^\w\s]", " ", s)
    s = _ARTICLES.sub(" ", s)
    return " ".join(s.split())


def contains_phrase(haystack: str, needle: str) -> bool:
    """Whole-word containment on already-normalised text."""
    return bool(needle) and f" {needle} " in f" {haystack} "


def strip_wrappers(s: str) -> str:
    """Drop code fences, surrounding quotes/backticks and whitespace."""
    s = s.strip()
    m = re.fullmatch(r"```[\w-]*\s*\n?(.*?)\n?```", s, flags=re.S)
    if m:
        s = m.group(1).strip()
    while len(s) >= 2 and s[0] == s[-1] and s[0] in "\"'`":
        s = s[1:-1].strip()
    return s


def _try_json(s: str):
    try:
        return json.loads(s)
    except (ValueError, TypeError):
        return None


def find_json(s: str):
    """The first JSON object or array anywhere in s (code fences and prose allowed), or None."""
    dec = json.JSONDecoder()
    for i, ch in enumerate(s):
        if ch in "{[":
            try:
                obj, _ = dec.raw_decode(s, i)
                return obj
            except ValueError:
                continue
    return None


def _lower_json(v):
    if isinstance(v, dict):
        return {str(k).strip().lower(): _lower_json(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_lower_json(x) for x in v]
    if isinstance(v, str):
        return " ".join(v.lower().split())
    return v


NUMBER_WORDS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty".split())}
_NUM_RE = re.compile(r"(?<![\w.])-?\$?\d[\d,]*(?:\.\d+)?(?![\w])|\b(?:" + "|".join(NUMBER_WORDS) + r")\b", re.I)


def numbers_in(text: str) -> list[float]:
    """Numbers in reading order: digits (with $ and thousands commas) and number words 0-20."""
    out = []
    for m in _NUM_RE.finditer(text):
        tok = m.group(0).lower()
        if tok in NUMBER_WORDS:
            out.append(float(NUMBER_WORDS[tok]))
            continue
        tok = tok.replace("$", "").replace(",", "")
        try:
            out.append(float(tok))
        except ValueError:
            pass
    return out


def same_number(a: float, b: float) -> bool:
    return abs(a - b) < 1e-6 * max(1.0, abs(b)) + 5e-3 * (abs(b) != int(abs(b)))


def split_items(text: str) -> list[str]:
    """Split a list written as JSON, lines, bullets, numbers or commas into clean items."""
    text = strip_wrappers(text)
    found = find_json(text)
    if isinstance(found, list):
        return [str(x).strip() for x in found if str(x).strip()]
    if ":" in text.split("\n", 1)[0] and "\n" not in text.strip():
        text = text.split(":", 1)[1]  # "Sorted: a, b, c"
    lines = [ln for ln in text.splitlines() if ln.strip()]
    parts = lines if len(lines) > 1 else re.split(r",|;|\band\b", text)
    items = []
    for p in parts:
        p = re.sub(r"^\s*(?:[-*\u2022]|\d+[.)])\s*", "", p).strip().strip(".\"'`").strip()
        if p:
            items.append(p)
    return items


def pick(rng: random.Random, seq):
    return seq[rng.randrange(len(seq))]
