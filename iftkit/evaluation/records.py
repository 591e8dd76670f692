"""One record of a scored sample: what a scorer reads, what eval writes to samples.jsonl, and
what meta-eval, dynamics and the sweep report read back.

A scorer needs only the first fields (prompt, prediction, reference, gold, task, category,
meta); eval fills in which model answered, in which suite, and every score and judge verdict.
"""

from dataclasses import asdict, dataclass, field
from typing import Any, Optional

from iftkit.core.errors import IftkitError
from iftkit.core.readers import iter_jsonl

REQUIRED_KEYS = ("model", "task", "prediction", "scores")
_NOT_WRITTEN = ("run", "human")  # meta-eval's own bookkeeping


CLUSTER_KEYS = ("cluster", "template")  # row meta keys that name a group of related prompts


@dataclass
class SampleRecord:
    prompt: list
    prediction: Optional[str]  # None: the generation failed (scored by nothing, counted as failed)
    reference: str
    gold: Any = None
    task: str = ""
    category: str = ""
    meta: dict = field(default_factory=dict)  # the data row's meta (a user task's task_spec travels here)
    model: str = ""
    suite: str = ""
    sample_id: str = ""
    adapter_path: Optional[str] = None
    scores: dict = field(default_factory=dict)  # scorer output -> value (None = does not apply)
    judge: dict = field(default_factory=dict)  # judge scorer -> its verdicts, verbatim
    failed: list = field(default_factory=list)  # outputs that applied but produced no value
    generation_key: str = ""  # weights + decoding that produced the prediction
    truncated: Optional[bool] = None  # the answer hit the generation length limit (None: not known)
    max_new_tokens: Optional[int] = None  # the limit it was generated under
    scorer_ids: dict = field(default_factory=dict)  # scorer -> identity it was scored with
    # the forgetting suite: the reference answer's {nll, tokens, answer_tokens} under this model, measured
    # instead of generating (prediction stays ""); None elsewhere
    likelihood: Optional[dict] = None
    run: str = ""  # meta-eval: which samples.jsonl it came from, so models of different runs stay apart
    human: Optional[float] = None  # meta-eval: an imported human score

    @property
    def cluster(self) -> Optional[str]:
        """The group this prompt shares a family, template or source with: its row's meta "cluster" (or
        "template"), which a user's file may carry per record; None = an independent prompt. Intervals over
        prompts that share one are cluster-robust (core/stats.py)."""
        for key in CLUSTER_KEYS:
            value = self.meta.get(key)
            if value is not None and not isinstance(value, (dict, list)) and str(value).strip():
                return f"{self.task}/{value}"
        return None

    def instruction(self) -> str:
        return "\n\n".join(m["content"] for m in self.prompt if m.get("role") != "assistant")

    @property
    def key(self) -> tuple:
        return (self.model, self.suite, self.task, self.sample_id)

    @property
    def model_key(self) -> str:
        return f"{self.run}:{self.model}" if self.run else self.model

    def to_dict(self) -> dict:
        d = asdict(self)
        for k in _NOT_WRITTEN:
            d.pop(k)
        return d

    @classmethod
    def from_dict(cls, d, where: str, lineno: Optional[int] = None) -> "SampleRecord":
        """Read one samples.jsonl line; a malformed one stops with `where` and what was expected."""
        if not isinstance(d, dict):
            raise IftkitError(f"{where}: expected a JSON object per line")
        missing = [k for k in REQUIRED_KEYS if k not in d]
        if missing:
            raise IftkitError(f"{where}: sample record lacks {', '.join(missing)} (eval samples.jsonl format)")
        if not isinstance(d["scores"], dict):
            raise IftkitError(f"{where}: 'scores' must be an object {{scorer: value}}")
        return cls(
            prompt=d.get("prompt") or [],
            prediction=None if d["prediction"] is None else str(d["prediction"]),  # None: generation failed
            reference=str(d.get("reference") or ""),
            gold=d.get("gold"),
            task=str(d["task"]),
            category=str(d.get("category") or ""),
            meta=d.get("meta") if isinstance(d.get("meta"), dict) else {},
            model=str(d["model"]),
            suite=str(d.get("suite") or ""),
            sample_id=str(d.get("sample_id", lineno if lineno is not None else "")),
            adapter_path=d.get("adapter_path"),
            scores=d["scores"],
            judge=d.get("judge") or {},
            failed=list(d.get("failed") or []),
            generation_key=str(d.get("generation_key") or ""),
            truncated=d.get("truncated"),
            max_new_tokens=d.get("max_new_tokens"),
            scorer_ids=d.get("scorer_ids") or {},
            likelihood=d.get("likelihood") if isinstance(d.get("likelihood"), dict) else None,
        )


def read_samples(path, run: str = "") -> list[SampleRecord]:
    """Every record of one samples.jsonl, in file order (a later line for the same key wins in eval's log)."""
    return [_with_run(SampleRecord.from_dict(d, f"{path}:{lineno}", lineno), run) for lineno, d in iter_jsonl(path)]


def _with_run(rec: SampleRecord, run: str) -> SampleRecord:
    rec.run = run
    return rec
