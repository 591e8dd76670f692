"""Answers that a person would still call correct, and answers that look right but are wrong.

TFA asks whether a scorer keeps a correct answer phrased differently above a wrong answer in
the expected format. Perturbations are generic over tasks (the reference answer is all they
see) and are NOT filtered by any scorer, so no scorer passes TFA by construction. The wrong
answers come from an independent source too: another row's answer whose gold differs, or the
reference with a number or a JSON field swapped for a different value; no scorer under test
(task_tolerant included) decides which answers count as wrong.
"""

import json
import re
from typing import Optional

# label words a reader takes as equivalent; applied whole-word, case-preserving
SYNONYMS = {
    "positive": "favourable",
    "negative": "unfavourable",
    "neutral": "mixed",
    "yes": "correct",
    "no": "incorrect",
    "true": "yes",
    "false": "no",
    "high": "severe",
    "low": "minor",
    "medium": "moderate",
    "urgent": "critical",
    "billing": "payment",
    "bug": "defect",
    "person": "individual",
    "location": "place",
    "organization": "company",
    "entailment": "implied",
    "contradiction": "contradicted",
}


def _json_value(text: str):
    try:
        v = json.loads(text)
    except (json.JSONDecodeError, ValueError):
        return None
    return v if isinstance(v, (dict, list)) else None


def _map_strings(value, fn):
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, list):
        return [_map_strings(v, fn) for v in value]
    if isinstance(value, dict):
        return {k: _map_strings(v, fn) for k, v in value.items()}
    return value


def _on_text(ref: str, fn) -> str:
    """Apply fn to the words of the answer: to JSON string values, not keys or syntax."""
    value = _json_value(ref)
    if value is not None:
        return json.dumps(_map_strings(value, fn), ensure_ascii=False)
    return fn(ref)


def wrap_sentence(ref: str) -> str:
    return f"The answer is: {ref}"


def change_case(ref: str) -> str:
    upper = _on_text(ref, str.upper)
    return upper if upper != ref else _on_text(ref, str.lower)


def punctuation(ref: str) -> str:
    if _json_value(ref) is not None:
        return ref + "."
    stripped = ref.rstrip(".!?")
    return f'"{stripped}".' if stripped == ref else stripped


def json_vs_plain(ref: str) -> str:
    value = _json_value(ref)
    if value is None:
        return json.dumps({"answer": ref}, ensure_ascii=False)
    if isinstance(value, dict):
        return "\n".join(f"{k}: {_plain(v)}" for k, v in value.items())
    return ", ".join(_plain(v) for v in value)


def _plain(v) -> str:
    if isinstance(v, list):
        return ", ".join(_plain(x) for x in v)
    if isinstance(v, dict):
        return "; ".join(f"{k}={_plain(x)}" for k, x in v.items())
    return str(v)


def add_explanation(ref: str) -> str:
    return f"{ref}\n\nExplanation: this is what the text says when read carefully, so this is my answer."


def synonym_label(ref: str) -> Optional[str]:
    def swap(text: str) -> str:
        def repl(m):
            word = m.group(0)
            new = SYNONYMS[word.lower()]
            return new.upper() if word.isupper() and len(word) > 1 else new.capitalize() if word[0].isupper() else new

        return re.sub(r"\b(" + "|".join(SYNONYMS) + r")\b", repl, text, flags=re.IGNORECASE)

    out = _on_text(ref, swap)
    return out if out != ref else None


PERTURBATIONS = {
    "wrap_sentence": wrap_sentence,
    "casing": change_case,
    "punctuation": punctuation,
    "json_vs_plain": json_vs_plain,
    "explanation": add_explanation,
    "synonym_label": synonym_label,
}


def format_variants(ref: str) -> dict[str, str]:
    """{perturbation name: reformatted correct answer}; perturbations that change nothing are left out."""
    out = {}
    for name, fn in PERTURBATIONS.items():
        v = fn(ref)
        if v is not None and v != ref and v.strip():
            out[name] = v
    return out


def _shift_number(ref: str) -> list[str]:
    m = re.search(r"\d+(?:\.\d+)?", ref)
    if not m:
        return []
    num = m.group(0)
    new = str(int(num) + 1) if "." not in num else f"{float(num) + 1:.{len(num.split('.')[1])}f}"
    return [ref[: m.start()] + new + ref[m.end():]]


def _swap_json_field(ref: str, others: list[str]) -> list[str]:
    value = _json_value(ref)
    if not isinstance(value, dict):
        return []
    out = []
    for other in others:
        ov = _json_value(other)
        if not isinstance(ov, dict):
            continue
        for k, v in value.items():
            if k in ov and ov[k] != v:
                out.append(json.dumps({**value, k: ov[k]}, ensure_ascii=False))
                break
    return out


def near_misses(ref: str, others: list[str]) -> list[str]:
    """Wrong answers that keep the reference's template and most of its words (lexically close),
    wrong by construction: a number changed, or a JSON field given another row's different value.
    (Reordering list items or swapping a word can leave an answer correct, so neither is used.)"""
    cands = _shift_number(ref) + _swap_json_field(ref, others)
    return [c for c in dict.fromkeys(cands) if c != ref]


def _gold_key(gold) -> Optional[str]:
    if gold is None:
        return None
    if isinstance(gold, str):
        return " ".join(gold.split()).casefold()
    return json.dumps(gold, sort_keys=True, ensure_ascii=False).casefold()


def wrong_variants(index: int, references: list[str], golds: list, limit: int = 3) -> list[tuple]:
    """Fluent, well-formatted but wrong answers as (kind, text), from sources independent of any
    scorer: near misses of the reference (wrong by construction) and other rows' references whose
    gold differs from this row's (for rows without gold: whose reference text differs). So a
    sentiment item whose neighbour has the same label never gets that label as a "wrong" answer.
    """
    ref = references[index]
    n = len(references)
    order = [(index + step) % n for step in range(1, n)]
    others = [references[j] for j in order]
    mine = _gold_key(golds[index])
    differing = [references[j] for j in order
                 if (_gold_key(golds[j]) != mine if mine is not None else references[j].strip() != ref.strip())]
    out, seen = [], {ref}
    pools = (("near_miss", near_misses(ref, others[:20]), limit - 1), ("other_answer", differing, limit))
    for kind, pool, cap in pools:
        for cand in pool:
            if len(out) >= cap:
                break
            if cand in seen or not cand.strip():
                continue
            seen.add(cand)
            out.append((kind, cand))
    return out
