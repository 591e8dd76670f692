"""Verifiable instruction checks (IFEval-style) for prompts that carry constraints.

A row opts in with meta["constraints"] = [{"type": "max_words", "value": 20}, ...]. The score
is the fraction of constraints the output satisfies. Output is only ever parsed (json.loads),
never executed.
"""

import json
import re

from iftkit.errors import IftkitError
from iftkit.evaluation.scorers.base import Scorer
from iftkit.evaluation.scorers.registry import ScorerInfo


def _words(text):
    return re.findall(r"\b[\w'-]+\b", text)


def _strip_fence(text):
    m = re.match(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", text, re.S)
    return m.group(1) if m else text


def _is_json(text, _=None):
    try:
        json.loads(_strip_fence(text))
        return True
    except ValueError:
        return False


def _bullets(text):
    return [ln for ln in text.splitlines() if re.match(r"^\s*([-*•]|\d+[.)])\s+", ln)]


CHECKS = {
    "max_words": lambda t, v: len(_words(t)) <= int(v),
    "min_words": lambda t, v: len(_words(t)) >= int(v),
    "include_keywords": lambda t, v: all(k.casefold() in t.casefold() for k in v),
    "exclude_keywords": lambda t, v: not any(k.casefold() in t.casefold() for k in v),
    "json": _is_json,
    "lowercase": lambda t, _: t == t.lower() and any(c.isalpha() for c in t),
    "uppercase": lambda t, _: t == t.upper() and any(c.isalpha() for c in t),
    "bullet_count": lambda t, v: len(_bullets(t)) == int(v),
    "max_sentences": lambda t, v: len([s for s in re.split(r"[.!?]+", t) if s.strip()]) <= int(v),
    "starts_with": lambda t, v: t.strip().casefold().startswith(str(v).casefold()),
    "ends_with": lambda t, v: t.strip().casefold().endswith(str(v).casefold()),
    "no_commas": lambda t, _: "," not in t,
}


def check_constraints(text: str, constraints: list[dict]) -> dict[str, bool]:
    out = {}
    for i, c in enumerate(constraints):
        kind = c.get("type")
        if kind not in CHECKS:
            raise IftkitError(f"constraint {i}: unknown type {kind!r} (known: {', '.join(sorted(CHECKS))})")
        out[f"{i}:{kind}"] = bool(CHECKS[kind](text or "", c.get("value")))
    return out


class IFEval(Scorer):
    name = "ifeval"

    def score(self, samples):
        out = []
        for s in samples:
            constraints = (s.meta or {}).get("constraints")
            if not constraints:
                out.append(None)
                continue
            results = check_constraints(s.prediction, constraints)
            out.append(sum(results.values()) / len(results))
        return out


SCORERS = (ScorerInfo("ifeval", IFEval, "share of a prompt's verifiable constraints the prediction meets"),)
