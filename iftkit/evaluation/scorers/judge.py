"""LLM-judge scorers: reference-guided 0-10 grading and pairwise preference.

Reference-guided (as in the paper): the judge grades the candidate and, with the same
prompt, the reference answer itself; we report the candidate score, the reference score and
their ratio (how close to the reference the judge thinks the candidate is). Pairwise: the
candidate and the reference are compared in both orders to cancel position bias.
Verdicts that do not parse are kept verbatim, scored None and marked failed.
"""

from iftkit.evaluation.fingerprint import json_hash
from iftkit.evaluation.judge.prompts import JudgePrompt, parse_score, parse_winner
from iftkit.evaluation.scorers.base import Scorer, ScoreResult
from iftkit.evaluation.scorers.registry import ScorerInfo


class _Output(Scorer):
    def __init__(self, name, higher_is_better=True, scale=(0.0, 10.0)):
        self.name, self.higher_is_better, self.scale = name, higher_is_better, scale


class _JudgeScorer(Scorer):
    def identity(self):
        return json_hash([self.name, self.client.identity, self.prompt.identity()])


class ReferenceJudge(_JudgeScorer):
    name = "judge"
    scale = (0.0, 10.0)

    def __init__(self, client=None, prompt: JudgePrompt = None):
        self.client, self.prompt = client, prompt
        self.scale = prompt.scale if prompt else self.scale

    def outputs(self):
        return {"judge": self, "judge_reference": _Output("judge_reference", scale=self.scale),
                "judge_ratio": _Output("judge_ratio", scale=(0.0, float("inf")))}

    def score(self, samples):
        return self.score_detailed(samples).values["judge"]

    def score_detailed(self, samples):
        applies = [i for i, s in enumerate(samples) if (s.reference or "").strip()]
        cand = [self.prompt.render(instruction=samples[i].instruction(), reference=samples[i].reference,
                                   answer=samples[i].prediction) for i in applies]
        ref = [self.prompt.render(instruction=samples[i].instruction(), reference=samples[i].reference,
                                  answer=samples[i].reference) for i in applies]
        got = self.client.complete_many(cand + ref) if applies else []
        n = len(samples)
        vals = {"judge": [None] * n, "judge_reference": [None] * n, "judge_ratio": [None] * n}
        details, failed = [None] * n, [False] * n
        for j, i in enumerate(applies):
            c, r = got[j], got[len(applies) + j]
            cs, rs = parse_score(self.prompt, c.text), parse_score(self.prompt, r.text)
            vals["judge"][i], vals["judge_reference"][i] = cs, rs
            if cs is not None and rs:
                vals["judge_ratio"][i] = cs / rs
            failed[i] = cs is None
            details[i] = {"raw": c.text, "parsed": cs, "error": c.error or (None if cs is not None else "unparseable verdict"),
                          "reference_raw": r.text, "reference_parsed": rs, "judge": self.client.label,
                          "parse_failed": c.text is not None and cs is None}
        return ScoreResult(vals, details, failed)


class PairwiseJudge(_JudgeScorer):
    """1 = candidate preferred over the reference in both orders, 0.5 = split or tie, 0 = never."""

    name = "judge_pairwise"

    def __init__(self, client=None, prompt: JudgePrompt = None):
        self.client, self.prompt = client, prompt

    def score(self, samples):
        return self.score_detailed(samples).values[self.name]

    def score_detailed(self, samples):
        applies = [i for i, s in enumerate(samples) if (s.reference or "").strip()]
        ab = [self.prompt.render(instruction=samples[i].instruction(), reference=samples[i].reference,
                                 answer_a=samples[i].prediction, answer_b=samples[i].reference) for i in applies]
        ba = [self.prompt.render(instruction=samples[i].instruction(), reference=samples[i].reference,
                                 answer_a=samples[i].reference, answer_b=samples[i].prediction) for i in applies]
        got = self.client.complete_many(ab + ba) if applies else []
        n = len(samples)
        vals, details, failed = [None] * n, [None] * n, [False] * n
        for j, i in enumerate(applies):
            first, second = got[j], got[len(applies) + j]
            w1, w2 = parse_winner(self.prompt, first.text), parse_winner(self.prompt, second.text)
            win1 = {"A": 1.0, "B": 0.0, "tie": 0.5}.get(w1)
            win2 = {"A": 0.0, "B": 1.0, "tie": 0.5}.get(w2)
            ok = win1 is not None and win2 is not None
            vals[i] = (win1 + win2) / 2 if ok else None
            failed[i] = not ok
            err = first.error or second.error or (None if ok else "unparseable verdict")
            details[i] = {"raw": [first.text, second.text], "parsed": [w1, w2], "error": err, "judge": self.client.label,
                          "parse_failed": (first.text is not None and w1 is None) or (second.text is not None and w2 is None)}
        return ScoreResult({self.name: vals}, details, failed)


def _prompt(kind: str, key: str):
    def load(recipe):
        from iftkit.evaluation.judge.prompts import load_judge_prompt

        return load_judge_prompt(kind, getattr(recipe.eval.judge, key))

    return load


SCORERS = (
    ScorerInfo("judge", ReferenceJudge, "LLM judge, reference-guided: candidate score, reference score, ratio",
               outputs=("judge", "judge_reference", "judge_ratio"), needs_judge=True,
               options={"prompt": _prompt("reference", "prompt_file")}),
    ScorerInfo("judge_pairwise", PairwiseJudge, "LLM judge preference of the candidate over the reference, both orders",
               needs_judge=True, options={"prompt": _prompt("pairwise", "pairwise_prompt_file")}),
)
