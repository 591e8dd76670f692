"""Answers that a person would still call correct, and answers that look right but are wrong.

TFA asks whether a scorer keeps a correct answer phrased differently above a wrong answer in
the expected format. Perturbations are generic over tasks (the reference answer is all they
see) and are NOT filtered by any scorer, so no scorer passes TFA by construction.
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


def wrong_variants(index: int, references: list[str], golds: list, is_wrong, limit: int = 2) -> list[str]:
    """Fluent, well-formatted but wrong answers: other items' references that are wrong here.

    `is_wrong(candidate_text, gold_of_item)` decides wrongness (the reference judgment), so a
    sentiment item whose neighbour has the same label is never used as a "wrong" answer.
    """
    ref = references[index]
    out = []
    n = len(references)
    for step in range(1, n):
        cand = references[(index + step) % n]
        if cand == ref or cand in out or not cand.strip():
            continue
        if is_wrong(cand, golds[index]):
            out.append(cand)
            if len(out) >= limit:
                break
    return out
