"""One judge verdict from whatever the backend gave: choice probabilities, token logprobs, or text.

- probs (local and vLLM backends): the judge prompt is rendered up to the verdict slot and the
  next-token distribution over the allowed verdicts is read, so every answer is a verdict;
  the value is the probability-weighted score (G-Eval style), the label the most likely one.
- logprobs (OpenAI-compatible servers that return them): the verdict is found in the reply with
  the prompt's pattern and decoded token by token along the reply: a tokenizer that splits "10"
  into "1", "0" (Qwen, Mistral) gives P(10) = P("1") x P("0" | "1") and P(1) = P("1") x P(end |
  "1"). An alternative off the reply's path that the server's list cannot resolve (" 1" may be "1"
  or the start of "10") is resolved by one more request: the reply up to that stem ("Score: 1"),
  continued by the server (vLLM's continue_final_message), gives P(next token | stem). Only where
  that fails too (a server that does not continue replies) is the mass ambiguous; more than
  AMBIGUOUS_MAX of it = unparseable. Without the extra request, a "9" with 0.35 on " 1" was lost,
  so lost verdicts clustered at the top of the scale.
- text: the reply is parsed with the prompt's pattern; no match = unparseable, kept verbatim.

Every probability verdict records `mass`, the probability the judge put on allowed verdicts at
all (before normalising over them). Below MIN_VERDICT_MASS the judge mostly meant something
else, and the verdict counts as unparseable. Measured on SmolLM2-135M-Instruct at the verdict
slot: 0.97-0.99 on "0".."10", 0.63-0.70 on "A"/"B"/"tie".
"""

import math
import re
from dataclasses import dataclass
from typing import Optional

from iftkit.evaluation.judge.prompts import JudgePrompt, parse_score, parse_winner
from iftkit.models.chat.types import Completion

MIN_VERDICT_MASS = 0.5  # below this share of probability on allowed verdicts: unparseable
AMBIGUOUS_MAX = 0.1  # share of the decoded mass that may be unresolvable before the verdict is unparseable
_VERDICT_CHARS = re.compile(r"[A-Za-z0-9]*")


@dataclass
class Verdict:
    value: Optional[float]  # the score, or how much slot A won (1 / 0.5 / 0, or its expectation)
    label: Optional[str]  # the most likely / parsed verdict: "7", "A", "B", "tie"
    status: str  # scored | unparseable | failed (no answer: retried on the next run)
    method: Optional[str] = None  # probs | logprobs | text
    raw: Optional[str] = None
    probs: Optional[dict] = None
    error: Optional[str] = None
    mass: Optional[float] = None  # probability on allowed verdicts before normalising (probs / logprobs)
    # unfinished replies ("Score: 1") whose continuation would resolve this unparseable verdict
    pending: Optional[list] = None

    def to_dict(self) -> dict:
        out = {"value": self.value, "parsed": self.label, "status": self.status, "method": self.method, "raw": self.raw,
               "error": self.error}
        if self.mass is not None:
            out["mass"] = round(self.mass, 6)
        if self.probs is not None:
            out["probs"] = {k: round(v, 6) for k, v in self.probs.items()}
        return out


def failed(c: Completion) -> Verdict:
    return Verdict(None, None, "failed", error=c.error or "no response")


def from_probs(prompt: JudgePrompt, probs: dict, method: str, raw: Optional[str] = None) -> Verdict:
    """probs: the probability of each allowed verdict, not normalised (their sum is the mass)."""
    mass = sum(probs.values())
    probs = {k: v / mass for k, v in probs.items()}
    label = max(probs, key=probs.get)
    if mass < MIN_VERDICT_MASS:
        return Verdict(None, label, "unparseable", method, raw, probs, mass=mass,
                       error=f"only {mass:.2f} of the judge's probability is on allowed verdicts "
                             f"(< {MIN_VERDICT_MASS})")
    value = sum(prompt.verdict_value(k) * p for k, p in probs.items())
    return Verdict(value, label, "scored", method, raw, probs, mass=mass)


def from_text(prompt: JudgePrompt, text: str, error: Optional[str] = None) -> Verdict:
    if prompt.kind == "pairwise":
        label = parse_winner(prompt, text)
    else:
        score = parse_score(prompt, text)
        label = None if score is None else f"{score:g}"
    if label is None:
        return Verdict(None, None, "unparseable", "text", text, error=error or "unparseable verdict")
    return Verdict(prompt.verdict_value(label), label, "scored", "text", text)


def from_logprobs(prompt: JudgePrompt, c: Completion, continued: Optional[dict] = None) -> Optional[Verdict]:
    """The verdict decoded from the alternatives along the reply's verdict tokens, an unparseable
    verdict where they cannot be resolved, or None (no verdict in the reply: fall back to text).
    continued: {unfinished reply: the server's continuation of it} for the stems a first pass left
    ambiguous (see `Verdict.pending`)."""
    matches = list(prompt.pattern.finditer(c.text or ""))
    if not matches or not c.logprobs:
        return None
    start = matches[-1].start(1)
    offset, first = 0, None
    for i, (token, _) in enumerate(c.logprobs):
        if offset + len(token) > start:
            first = i
            break
        offset += len(token)
    if first is None:
        return None
    head = c.text[:start]
    after = {partial[len(head):]: _first_alternatives(got) for partial, got in (continued or {}).items()
             if partial.startswith(head) and _first_alternatives(got) is not None}
    probs, ambiguous = _decode(prompt, c.logprobs, first, c.text[offset:start], after)
    if not probs:
        return None
    left = sum(ambiguous.values())
    total = sum(probs.values()) + left
    if left > AMBIGUOUS_MAX * total:
        tried = [s for s in ambiguous if s in after]
        why = (f"multi-token verdict: {left:.2f} of the probability sits on alternatives the server's logprobs "
               "cannot resolve (e.g. '1' or the start of '10')")
        if tried:
            why += "; asked to continue the reply after " + ", ".join(repr(head + s) for s in tried) + (
                ", the server answered afresh instead (it needs vLLM's continue_final_message)")
        return Verdict(None, None, "unparseable", "logprobs", c.text, mass=sum(probs.values()), error=why,
                       pending=[head + s for s in ambiguous if s not in after] or None)
    return from_probs(prompt, probs, "logprobs", c.text)


def _first_alternatives(c: Optional[Completion]) -> Optional[dict]:
    if c is None or not c.logprobs:
        return None
    return c.logprobs[0][1]


def _continue(stem: str, alts: dict, allowed: dict) -> dict:
    """{allowed verdict: P(it | the reply reads `stem` so far)} from the continuation's first token:
    a token that adds no verdict character ends the verdict at `stem`; one that extends it to an
    allowed verdict ("0" after "1") makes that verdict; anything else is no verdict."""
    out: dict = {}
    for alt, lp in alts.items():
        part = _VERDICT_CHARS.match(alt).group(0)
        text = stem + part
        if text in allowed:
            out[allowed[text]] = out.get(allowed[text], 0.0) + math.exp(lp)
    return out


def _decode(prompt: JudgePrompt, logprobs: list, first: int, lead: str,
            after: Optional[dict] = None) -> tuple[dict, dict]:
    """({allowed verdict: probability}, {ambiguous stem: probability}) from the reply's tokens from `first`.

    Walks the reply's own tokens through the verdict: at each step every listed alternative either
    ends a verdict (what it adds is followed by a non-verdict character, or adds nothing), or may
    go on (then it is a verdict only if no longer allowed verdict starts with it, or the list
    shows that tokenizer writes the longer one as one token), and the reply's token leads on while a
    longer allowed verdict could still follow it ("1" -> "10"). An alternative that may go on is
    split by `after` (stem -> the alternatives the server continued it with) where given; the share
    of a continuation on no verdict at all counts as ambiguous only when it is most of it (the server
    did not continue the reply), else it is simply no verdict."""
    fold = (lambda t: t.lower()) if prompt.kind == "pairwise" else (lambda t: t)
    walk = _Walk({fold(k): k for k in prompt.choices()}, after or {})
    prefix, path = "", 1.0
    for pos in range(first, len(logprobs)):
        token, alts = logprobs[pos]
        options = []
        for alt, lp in alts.items():
            body = alt
            if pos == first:  # the reply's first verdict token may carry what precedes the verdict (" ", ":")
                body = body.lstrip()
                stem = lead.strip()
                if stem and body.startswith(stem):
                    body = body[len(stem):].lstrip()
            part = _VERDICT_CHARS.match(body).group(0)
            options.append((alt, fold(prefix + part), len(part) < len(body) or not part, path * math.exp(lp)))
        whole = {text for _, text, _, _ in options}
        sampled = None
        for alt, text, ends, p in options:
            if alt == token:
                sampled = (text, ends, p)
            else:
                walk.alternative(text, ends, p, whole)
        if sampled is None:
            return walk.probs, walk.ambiguous  # the reply's own token is missing from its list: stop here
        text, ends, p = sampled
        if ends or not walk.longer(text):  # nothing allowed can follow: the verdict is decided here
            walk.add(text, p)
            return walk.probs, walk.ambiguous
        prefix, path = text, p
    # the reply ended inside the verdict: no alternative shows whether it would have gone on
    if prefix in walk.allowed and not walk.longer(prefix):
        walk.add(prefix, path)
    elif any(k.startswith(prefix) for k in walk.allowed):
        walk.unresolved(prefix, path)
    return walk.probs, walk.ambiguous


class _Walk:
    """What _decode has found so far: probability per allowed verdict, and per stem it could not resolve."""

    def __init__(self, allowed: dict, after: dict):
        self.allowed, self.after = allowed, after  # folded verdict -> verdict; stem -> its continuation
        self.probs: dict = {}
        self.ambiguous: dict = {}

    def longer(self, text: str) -> bool:
        return any(k != text and k.startswith(text) for k in self.allowed)

    def add(self, text: str, p: float) -> None:
        if text in self.allowed:
            self.probs[self.allowed[text]] = self.probs.get(self.allowed[text], 0.0) + p

    def alternative(self, text: str, ends: bool, p: float, whole: set) -> None:
        """An alternative to the reply's token: a verdict where it ends or no longer allowed verdict can follow
        (or the list shows that tokenizer writes the longer one as one token), else unresolved."""
        if ends or not self.longer(text) or any(t != text and t.startswith(text) and t in self.allowed
                                                for t in whole):
            self.add(text, p)
        elif any(k.startswith(text) for k in self.allowed):
            self.unresolved(text, p)

    def unresolved(self, text: str, p: float) -> None:
        split = _continue(text, self.after[text], self.allowed) if text in self.after else {}
        if sum(split.values()) < 0.5:  # no continuation, or one that is mostly no verdict: a new answer
            self.ambiguous[text] = self.ambiguous.get(text, 0.0) + p
            return
        for k, q in split.items():
            self.probs[k] = self.probs.get(k, 0.0) + p * q
