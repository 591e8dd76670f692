"""One judge verdict from whatever the backend gave: choice probabilities, token logprobs, or text.

- probs (local and vLLM backends): the judge prompt is rendered up to the verdict slot and the
  next-token distribution over the allowed verdicts is read, so every answer is a verdict;
  the value is the probability-weighted score (G-Eval style), the label the most likely one.
- logprobs (OpenAI-compatible servers that return them): the verdict token is found in the
  reply with the prompt's pattern and the alternatives the server listed for that token are
  weighted the same way. A multi-digit score split into several tokens by the server's
  tokenizer is read from its first token only.
- text: the reply is parsed with the prompt's pattern; no match = unparseable, kept verbatim.
"""

import math
from dataclasses import dataclass
from typing import Optional

from iftkit.evaluation.judge.prompts import JudgePrompt, parse_score, parse_winner
from iftkit.models.chat.types import Completion


@dataclass
class Verdict:
    value: Optional[float]  # the score, or how much slot A won (1 / 0.5 / 0, or its expectation)
    label: Optional[str]  # the most likely / parsed verdict: "7", "A", "B", "tie"
    status: str  # scored | unparseable | failed (no answer: retried on the next run)
    method: Optional[str] = None  # probs | logprobs | text
    raw: Optional[str] = None
    probs: Optional[dict] = None
    error: Optional[str] = None

    def to_dict(self) -> dict:
        out = {"value": self.value, "parsed": self.label, "status": self.status, "method": self.method, "raw": self.raw,
               "error": self.error}
        if self.probs is not None:
            out["probs"] = {k: round(v, 6) for k, v in self.probs.items()}
        return out


def failed(c: Completion) -> Verdict:
    return Verdict(None, None, "failed", error=c.error or "no response")


def from_probs(prompt: JudgePrompt, probs: dict, method: str, raw: Optional[str] = None) -> Verdict:
    total = sum(probs.values())
    probs = {k: v / total for k, v in probs.items()}
    label = max(probs, key=probs.get)
    value = sum(prompt.verdict_value(k) * p for k, p in probs.items())
    return Verdict(value, label, "scored", method, raw, probs)


def from_text(prompt: JudgePrompt, text: str, error: Optional[str] = None) -> Verdict:
    if prompt.kind == "pairwise":
        label = parse_winner(prompt, text)
    else:
        score = parse_score(prompt, text)
        label = None if score is None else f"{score:g}"
    if label is None:
        return Verdict(None, None, "unparseable", "text", text, error=error or "unparseable verdict")
    return Verdict(prompt.verdict_value(label), label, "scored", "text", text)


def from_logprobs(prompt: JudgePrompt, c: Completion) -> Optional[Verdict]:
    """The verdict weighted by the alternatives at the verdict token, or None (fall back to text)."""
    matches = list(prompt.pattern.finditer(c.text or ""))
    if not matches or not c.logprobs:
        return None
    start = matches[-1].start(1)
    offset = 0
    for token, alts in c.logprobs:
        if offset + len(token) > start:
            probs = _choice_mass(prompt, alts)
            return from_probs(prompt, probs, "logprobs", c.text) if probs else None
        offset += len(token)
    return None


def _choice_mass(prompt: JudgePrompt, alts: dict) -> dict:
    by_key = {(k.lower() if prompt.kind == "pairwise" else k): k for k in prompt.choices()}
    probs: dict = {}
    for token, lp in alts.items():
        key = token.strip().lower() if prompt.kind == "pairwise" else token.strip()
        if key in by_key:
            probs[by_key[key]] = probs.get(by_key[key], 0.0) + math.exp(lp)
    return probs
