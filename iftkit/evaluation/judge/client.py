"""The judge every judge scorer calls: a chat backend behind the cache, turned into verdicts.

`verdict` (eval.judge.verdict) chooses how a verdict is read: `probs` from the model's
probabilities over the allowed verdicts (local models: next-token distribution at the verdict
slot; HTTP servers: token logprobs, required), `text` by parsing the reply, `auto` (default)
probabilities wherever the backend gives them and text otherwise. Every verdict is counted
(scored / unparseable / failed) in `tally`.
"""

from dataclasses import replace
from typing import Optional

from iftkit.evaluation.counters import VerdictTally
from iftkit.evaluation.judge import verdicts as vd
from iftkit.evaluation.judge.prompts import JudgePrompt
from iftkit.models.chat.cache import CachedChat
from iftkit.models.chat.types import GenConfig

TOP_LOGPROBS = 20


class JudgeClient:
    def __init__(
        self,
        chat: CachedChat,
        gen: GenConfig,
        verdict: str = "auto",
        weak: bool = False,
        tally: Optional[VerdictTally] = None,
    ):
        self.chat, self.verdict = chat, verdict
        self.tally = tally if tally is not None else VerdictTally()
        self.use_choice_probs = verdict != "text" and chat.supports_probs
        if verdict != "text" and not chat.supports_probs:
            gen = GenConfig(gen.max_new_tokens, gen.temperature, gen.top_p, top_logprobs=TOP_LOGPROBS)
        self.gen = gen
        ident = chat.identity
        self.identity = {
            **ident,
            "verdict": "choice_probs" if self.use_choice_probs else verdict,
            **({} if self.use_choice_probs else {"gen": gen.identity()}),
        }
        name = chat.backend.name or ident.get("model")
        self.label = f"{ident['backend']}:{name}" + (" (weak judge)" if weak else "")

    @property
    def breaker(self):
        return self.chat.backend.breaker

    def verdicts(self, prompt: JudgePrompt, messages_list: list, desc: str = "judge") -> list[vd.Verdict]:
        if self.use_choice_probs:
            got = self.chat.choice_probs(
                messages_list, [" " + c for c in prompt.choices()], prompt.verdict_prefix, desc
            )
            out = [
                vd.from_probs(prompt, {k.strip(): p for k, p in c.probs.items()}, "probs") if c.probs else vd.failed(c)
                for c in got
            ]
        else:
            replies = self.chat.complete_many(messages_list, self.gen, desc=desc)
            out = self._continue_split_verdicts(prompt, messages_list, replies,
                                                [self._from_reply(prompt, c) for c in replies], desc)
        for v in out:
            self.tally.scored += v.status == "scored"
            self.tally.unparseable += v.status == "unparseable"
            self.tally.failed += v.status == "failed"
            self.tally.by_probs += v.status == "scored" and v.method in ("probs", "logprobs")
            if v.mass is not None:
                self.tally.mass_total += v.mass
                self.tally.mass_count += 1
                self.tally.low_mass += v.status == "unparseable" and v.mass < vd.MIN_VERDICT_MASS
        return out

    def _continue_split_verdicts(self, prompt: JudgePrompt, messages_list: list, replies: list, out: list,
                                 desc: str) -> list:
        """One more request per verdict that a digit-splitting tokenizer left open ("Score: 1" off the
        reply's path: 1 or 10?): the server continues the unfinished reply, and its next token decides."""
        asks = [(i, partial) for i, v in enumerate(out) for partial in (v.pending or [])]
        if not asks:
            return out
        gen = replace(self.gen, max_new_tokens=1, continue_final=True)
        got = self.chat.complete_many([messages_list[i] + [{"role": "assistant", "content": partial}]
                                       for i, partial in asks], gen, desc=f"{desc} (split verdicts)")
        continued: dict = {}
        for (i, partial), c in zip(asks, got):
            continued.setdefault(i, {})[partial] = c
        return [vd.from_logprobs(prompt, replies[i], continued[i]) or v if i in continued else v
                for i, v in enumerate(out)]

    def _from_reply(self, prompt: JudgePrompt, c) -> vd.Verdict:
        if c.text is None:
            return vd.failed(c)
        if self.verdict != "text":
            weighted = vd.from_logprobs(prompt, c)
            if weighted is not None:
                return weighted
            if self.verdict == "probs":
                return vd.Verdict(
                    None,
                    None,
                    "unparseable",
                    raw=c.text,
                    error="eval.judge.verdict = probs but the server returned no usable logprobs "
                    "(use verdict: auto to fall back to the text)",
                )
        return vd.from_text(prompt, c.text)
