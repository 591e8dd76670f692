"""LLM-judge scorers: reference-guided grading and pairwise preference.

Reference-guided (as in the paper): the judge grades the candidate and, with the same
prompt, the reference answer itself; we report the candidate score, the reference score and
their ratio (how close to the reference the judge thinks the candidate is). Pairwise: the
candidate and the reference are compared in both orders to cancel position bias.
Verdicts come from the judge's probabilities where the backend gives them (see
judge/verdicts.py); a verdict that fails (no answer, or a text reply that does not parse) is
kept verbatim, scored None and marked failed for exactly the outputs it feeds: a failed
reference verdict fails judge_reference and judge_ratio, never silently.
"""

from iftkit.core.fingerprint import json_hash
from iftkit.evaluation.judge.prompts import JudgePrompt, load_judge_prompt
from iftkit.evaluation.scorers.base import Output, Scorer, ScoreResult
from iftkit.evaluation.scorers.registry import PAIRWISE_JUDGE, REFERENCE_BASED, ScorerInfo


class _JudgeRatio(Output):
    """The paper's figure: mean candidate verdict over mean reference verdict, on the samples that have both."""

    def __init__(self):
        super().__init__("judge_ratio", scale=(0.0, float("inf")), aggregation="ratio of means")

    def corpus_statistic(self, records):
        pairs = [(r.scores.get("judge"), r.scores.get("judge_reference")) for r in records]
        pairs = [p for p in pairs if p[0] is not None and p[1] is not None]
        return _ratio_of_means, [[p[0] for p in pairs], [p[1] for p in pairs]]


def _ratio_of_means(candidate, reference):
    return candidate.mean() / reference.mean() if reference.mean() else None


class _JudgeScorer(Scorer):
    def identity(self):
        return json_hash([self.name, self.client.identity, self.prompt.identity()])

    def score(self, samples):
        return self.score_detailed(samples).values[self.name]

    def _ask(self, samples, **slots):
        """Verdicts for every sample with a reference, one list per slot filling (e.g. candidate, reference)."""
        applies = [i for i, s in enumerate(samples) if (s.reference or "").strip()]
        msgs = []
        for fill in slots.values():
            msgs += [self.prompt.render(instruction=samples[i].instruction(), reference=samples[i].reference,
                                        **fill(samples[i])) for i in applies]
        got = self.client.verdicts(self.prompt, msgs, desc=f"{self.name} ({self.client.label})") if applies else []
        n = len(applies)
        return applies, {name: got[k * n:(k + 1) * n] for k, name in enumerate(slots)}


class ReferenceJudge(_JudgeScorer):
    name = "judge"
    scale = (0.0, 10.0)

    def __init__(self, client=None, prompt: JudgePrompt = None):
        self.client, self.prompt = client, prompt
        self.scale = prompt.scale if prompt else self.scale

    def outputs(self):
        return {"judge": self, "judge_reference": Output("judge_reference", scale=self.scale),
                "judge_ratio": _JudgeRatio()}

    def score_detailed(self, samples):
        applies, got = self._ask(samples, candidate=lambda s: {"answer": s.prediction},
                                 reference=lambda s: {"answer": s.reference})
        n = len(samples)
        vals = {"judge": [None] * n, "judge_reference": [None] * n, "judge_ratio": [None] * n}
        details, failed = [None] * n, [()] * n
        for i, c, r in zip(applies, got["candidate"], got["reference"]):
            vals["judge"][i], vals["judge_reference"][i] = c.value, r.value
            if c.value is not None and r.value:
                vals["judge_ratio"][i] = c.value / r.value
            failed[i] = tuple(o for o, bad in (("judge", c.value is None), ("judge_reference", r.value is None),
                                               ("judge_ratio", vals["judge_ratio"][i] is None)) if bad)
            details[i] = _details(self.client, {"candidate": c, "reference": r})
        return ScoreResult(vals, details, failed)


class PairwiseJudge(_JudgeScorer):
    """1 = candidate preferred over the reference in both orders, 0.5 = split or tie, 0 = never
    (with probability verdicts: the expected preference, averaged over both orders)."""

    name = "judge_pairwise"

    def __init__(self, client=None, prompt: JudgePrompt = None):
        self.client, self.prompt = client, prompt

    def score_detailed(self, samples):
        applies, got = self._ask(samples, candidate_first=lambda s: {"answer_a": s.prediction, "answer_b": s.reference},
                                 reference_first=lambda s: {"answer_a": s.reference, "answer_b": s.prediction})
        n = len(samples)
        vals, details, failed = [None] * n, [None] * n, [()] * n
        for i, first, second in zip(applies, got["candidate_first"], got["reference_first"]):
            ok = first.value is not None and second.value is not None
            vals[i] = (first.value + (1.0 - second.value)) / 2 if ok else None
            failed[i] = () if ok else (self.name,)
            details[i] = _details(self.client, {"candidate_first": first, "reference_first": second})
        return ScoreResult({self.name: vals}, details, failed)


def _details(client, verdicts: dict) -> dict:
    """The per-sample judge record: every verdict verbatim, and what to count or retry."""
    errors = [f"{k}: {v.error}" for k, v in verdicts.items() if v.error]
    return {"judge": client.label, "verdicts": {k: v.to_dict() for k, v in verdicts.items()},
            "error": "; ".join(errors) or None,
            "status": {s: sum(v.status == s for v in verdicts.values()) for s in ("scored", "unparseable", "failed")},
            # a verdict with no answer at all is asked again on the next run (it is not in the cache)
            "retry": any(v.status == "failed" for v in verdicts.values())}


def _prompt(kind: str, key: str):
    def load(recipe):
        return load_judge_prompt(kind, getattr(recipe.eval.judge, key))

    return load


SCORERS = (
    ScorerInfo("judge", ReferenceJudge, "LLM judge, reference-guided: candidate score, reference score, ratio",
               outputs=("judge", "judge_reference", "judge_ratio"), needs_judge=True,
               options={"prompt": _prompt("reference", "prompt_file")}, roles={REFERENCE_BASED: 0}),
    ScorerInfo("judge_pairwise", PairwiseJudge, "LLM judge preference of the candidate over the reference, both orders",
               needs_judge=True, options={"prompt": _prompt("pairwise", "pairwise_prompt_file")},
               requested_by=lambda recipe: recipe.eval.judge.pairwise, roles={PAIRWISE_JUDGE: 0}),
)
