"""IFEval's verifiable instructions, checked by lm-eval's own implementation (a thin adapter).

A row opts in with IFEval's fields in its meta: meta["instruction_id_list"] (e.g.
["punctuation:no_comma", "length_constraints:number_words"]) and meta["kwargs"] (one dict per
instruction, e.g. {"relation": "less than", "num_words": 20}). Each prediction goes through
lm-eval's strict and loose checks, so the four numbers are the ones the field reports:
prompt-level (every instruction followed) and instruction-level (share of all instructions,
pooled over prompts), strict and loose. Output is only ever parsed, never executed.
"""

from iftkit.core.errors import IftkitError
from iftkit.evaluation.harness.env import harness_version, ifeval_functions, sentence_splitter
from iftkit.evaluation.scorers.base import BINARY, Output, Scorer, ScoreResult
from iftkit.evaluation.scorers.ifbench import SUITE as IFBENCH_SUITE
from iftkit.evaluation.scorers.registry import ScorerInfo

PROMPT_STRICT, PROMPT_LOOSE = "ifeval_prompt_strict", "ifeval_prompt_loose"
INST_STRICT, INST_LOOSE = "ifeval_inst_strict", "ifeval_inst_loose"


class _InstructionLevel(Output):
    """An instruction-level number: the share of every instruction of every prompt, pooled."""

    def __init__(self, name: str, mode: str):
        super().__init__(name, aggregation="pooled over instructions")
        self.mode = mode

    def pooled_values(self, records):
        return [float(ok) for r in records for ok in (r.judge.get("ifeval") or {}).get(self.mode, [])]


class IFEval(Scorer):
    name = "ifeval"

    def __init__(self):
        self._input, self._strict, self._loose, registry = ifeval_functions()
        self._known = registry.INSTRUCTION_DICT
        self._outputs = {PROMPT_STRICT: Output(PROMPT_STRICT, values=BINARY),
                         PROMPT_LOOSE: Output(PROMPT_LOOSE, values=BINARY),
                         INST_STRICT: _InstructionLevel(INST_STRICT, "strict"),
                         INST_LOOSE: _InstructionLevel(INST_LOOSE, "loose")}

    def outputs(self):
        return dict(self._outputs)

    def identity(self) -> str:
        return f"ifeval:lm-eval {harness_version()}:{sentence_splitter()}"

    def check(self, prompt: str, response: str, ids: list, kwargs: list) -> dict:
        """{"instructions", "strict", "loose"}: one verdict per instruction, from lm-eval's checks."""
        unknown = [i for i in ids if i not in self._known]
        if unknown or len(kwargs) != len(ids):
            raise IftkitError(f"ifeval: prompt {prompt[:40]!r}: " + (
                f"unknown instruction id(s) {unknown} (known: lm-eval's IFEval registry)" if unknown
                else f"{len(ids)} instruction ids but {len(kwargs)} kwargs dicts"))
        inp = self._input(key=0, instruction_id_list=list(ids), prompt=prompt, kwargs=[dict(k or {}) for k in kwargs])
        strict, loose = self._strict(inp, response or ""), self._loose(inp, response or "")
        return {"instructions": list(ids), "strict": [bool(x) for x in strict.follow_instruction_list],
                "loose": [bool(x) for x in loose.follow_instruction_list]}

    def score_detailed(self, samples) -> ScoreResult:
        values = {name: [] for name in self._outputs}
        details = []
        for s in samples:
            meta = s.meta or {}
            ids = meta.get("instruction_id_list")
            if not ids or s.suite == IFBENCH_SUITE:  # IFBench's ids name its own checks (scorers/ifbench.py)
                for v in values.values():
                    v.append(None)
                details.append(None)
                continue
            d = self.check(s.instruction(), s.prediction, ids, meta.get("kwargs") or [{} for _ in ids])
            details.append(d)
            values[PROMPT_STRICT].append(float(all(d["strict"])))
            values[PROMPT_LOOSE].append(float(all(d["loose"])))
            values[INST_STRICT].append(sum(d["strict"]) / len(ids))
            values[INST_LOOSE].append(sum(d["loose"]) / len(ids))
        return ScoreResult(values, details, [False] * len(samples))


SCORERS = (ScorerInfo("ifeval", IFEval, "IFEval verifiable instructions, checked by lm-eval's implementation: "
                      "prompt- and instruction-level accuracy, strict and loose (needs iftkit[bench])",
                      outputs=(PROMPT_STRICT, PROMPT_LOOSE, INST_STRICT, INST_LOOSE)),)
