"""Import human judgments: single scores or pairwise preferences, validated line by line.

Accepted layouts (JSONL, a JSON array, CSV/TSV with a header row, or Parquet; read by iftkit.core.readers):
- single score: {prompt, response, score[, reference, task]}  (score: any number; higher = better)
- pairwise:     {prompt, response_a, response_b, preference}   (preference: a | b | tie)
- LLMBar:       {input, output_1, output_2, label}             (label: 1 | 2, as in LLMBar's JSON)
One file holds one kind. Errors name the file and line (CSV: the line of the row; Parquet: the row).
"""

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Union

from iftkit.core.errors import IftkitError
from iftkit.core.readers import strict_records

SINGLE_KEYS = ("prompt", "response", "score")
PAIR_KEYS = ("prompt", "response_a", "response_b", "preference")
LLMBAR_KEYS = ("input", "output_1", "output_2", "label")
PREFERENCES = ("a", "b", "tie")


@dataclass
class HumanScore:
    prompt: str
    response: str
    score: float
    reference: str = ""
    task: str = "human"
    where: str = ""


@dataclass
class HumanPair:
    prompt: str
    response_a: str
    response_b: str
    preference: str  # a | b | tie
    where: str = ""


Judgment = Union[HumanScore, HumanPair]


def load_human(path) -> list[Judgment]:
    """Read and validate a human-judgment file; raise IftkitError naming file:line on bad input."""
    path = Path(path)
    if not path.is_file():
        raise IftkitError(f"--human {path}: file not found")
    rows = list(_raw_rows(path))
    if not rows:
        raise IftkitError(f"{path}: no judgments in the file")
    kind = _kind(rows[0][1], rows[0][0])
    out = []
    for where, d in rows:
        if _kind(d, where) != kind:
            raise IftkitError(f"{where}: mixes {_kind(d, where)} with {kind} judgments; use one kind per file")
        out.append(_parse(kind, d, where))
    return out


def _raw_rows(path: Path):
    for where, d in strict_records(path):
        yield where, _object(d, where)


def _object(d, where):
    if not isinstance(d, dict):
        raise IftkitError(f"{where}: expected an object with keys like {', '.join(SINGLE_KEYS)}")
    return d


def _kind(d: dict, where: str) -> str:
    if all(k in d for k in LLMBAR_KEYS):
        return "llmbar"
    if all(k in d for k in PAIR_KEYS):
        return "pairwise"
    if all(k in d for k in SINGLE_KEYS):
        return "single"
    best = max((SINGLE_KEYS, PAIR_KEYS, LLMBAR_KEYS), key=lambda ks: sum(k in d for k in ks))
    missing = [k for k in best if k not in d]
    raise IftkitError(
        f"{where}: missing key(s) {', '.join(missing)}; expected {{{', '.join(SINGLE_KEYS)}}}, "
        f"{{{', '.join(PAIR_KEYS)}}} or LLMBar {{{', '.join(LLMBAR_KEYS)}}}"
    )


def _text(d, key, where) -> str:
    v = d[key]
    if isinstance(v, list):  # chat messages: keep the user turns
        v = "\n\n".join(m.get("content", "") for m in v if isinstance(m, dict) and m.get("role", "user") == "user")
    if not isinstance(v, str) or not v.strip():
        raise IftkitError(f"{where}: '{key}' must be a non-empty string")
    return v


def _parse(kind: str, d: dict, where: str) -> Judgment:
    if kind == "single":
        return HumanScore(
            prompt=_text(d, "prompt", where),
            response=str(d["response"] if d["response"] is not None else ""),
            score=_number(d["score"], where),
            reference=str(d.get("reference") or ""),
            task=str(d.get("task") or "human"),
            where=where,
        )
    if kind == "pairwise":
        pref = str(d["preference"]).strip().lower()
        if pref not in PREFERENCES:
            raise IftkitError(f"{where}: 'preference' is {d['preference']!r}; expected a, b or tie")
        return HumanPair(
            _text(d, "prompt", where), _text(d, "response_a", where), _text(d, "response_b", where), pref, where
        )
    label = str(d["label"]).strip()
    if label not in ("1", "2"):
        raise IftkitError(f"{where}: LLMBar 'label' is {d['label']!r}; expected 1 or 2")
    return HumanPair(
        _text(d, "input", where),
        _text(d, "output_1", where),
        _text(d, "output_2", where),
        "a" if label == "1" else "b",
        where,
    )


def _number(v, where) -> float:
    try:
        x = float(v)
    except (TypeError, ValueError):
        raise IftkitError(f"{where}: 'score' is {v!r}; expected a number") from None
    if math.isnan(x) or math.isinf(x):
        raise IftkitError(f"{where}: 'score' is {v!r}; expected a finite number")
    return x


def normalise_scores(items: list[HumanScore]) -> list[float]:
    """Min-max to [0, 1] so human scales (1-5, 0-10, 0/1) line up with scorers for CAT."""
    vals = [h.score for h in items]
    lo, hi = min(vals), max(vals)
    return [0.5 if hi == lo else (v - lo) / (hi - lo) for v in vals]


def split(judgments: list[Judgment]) -> tuple[list[HumanScore], list[HumanPair]]:
    return [j for j in judgments if isinstance(j, HumanScore)], [j for j in judgments if isinstance(j, HumanPair)]


def prompt_text(prompt) -> str:
    if isinstance(prompt, list):
        return "\n\n".join(
            m.get("content", "") for m in prompt if isinstance(m, dict) and m.get("role") == "user"
        ).strip()
    return str(prompt or "").strip()


def pair_key(prompt, response) -> tuple:
    return (" ".join(prompt_text(prompt).split()), " ".join(str(response).split()))
