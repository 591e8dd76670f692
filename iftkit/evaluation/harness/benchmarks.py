"""Run lm-eval tasks on the base model and each adapter, cached, into results rows.

Each model is loaded as the harness's own model by the chat backend registered for eval.backend
(models/chat/factory.harness_engine: transformers' = the harness's HF model, `pretrained` = the base
model, `peft` = the adapter; a scaled adapter runs at its fraction of strength, see
models/adapter_scale.py), once per run and only when a task's results are not cached. Tasks run
one at a time and each is cached as soon as it ends, so an interrupted run resumes at the task it
was on. A task's results are cached under the model's fingerprint, the task config hash, the
harness version and the settings, so a rerun, or a sweep cell re-evaluated for another reason,
recomputes nothing. Rows carry the harness's own metric names and numbers (its stderr as the CI:
mean ± 1.96 stderr); per-document results go to samples.jsonl so the report can pair models
prompt by prompt.
"""

import json
import math
from contextlib import contextmanager

from iftkit.core.errors import IftkitError
from iftkit.core.fingerprint import json_hash
from iftkit.evaluation.harness.env import harness_version, require_lm_eval, sentence_splitter
from iftkit.evaluation.harness.tasks import plan_tasks, task_manager
from iftkit.evaluation.records import SampleRecord
from iftkit.evaluation.suites import LM_EVAL_PREFIX
from iftkit.models.adapter_scale import scaled_adapter
from iftkit.models.chat.backend import LocalModel
from iftkit.models.chat.factory import DEFAULT_LOCAL_ENGINE, harness_engine

Z95 = 1.959964
_NOT_METRICS = {"name", "alias", "sample_len", "sample_count", " "}


def run_benchmarks(recipe, muts, store, tally, log) -> list[dict]:
    """Result rows of every eval.lm_eval task for every model; per-document records go to `log`."""
    cfg = recipe.eval.lm_eval
    require_lm_eval()
    splitter = sentence_splitter()
    manager = task_manager(cfg.tasks, cfg.task_dir)
    plans = plan_tasks(cfg.tasks, manager, cfg.task_dir)
    version = harness_version()
    engine = harness_engine(recipe.eval.backend)
    settings = {
        "limit": cfg.limit,
        "num_fewshot": cfg.num_fewshot,
        "chat_template": cfg.apply_chat_template,
        "max_gen_toks": cfg.max_gen_toks,
        "bootstrap_iters": cfg.bootstrap_iters,
        "dtype": recipe.model.dtype,
        "sentence_splitter": splitter,
    }
    if engine.name != DEFAULT_LOCAL_ENGINE:  # another harness model, other numbers; the HF one's keys stay as they were
        settings["backend"] = engine.name
    rows = []
    for mut in muts:
        keys = {p.name: json_hash([mut.fingerprint(), p.config_hash, version, settings]) for p in plans}
        got = store.get_many(list(keys.values()))
        todo = [p for p in plans if keys[p.name] not in got]
        tally.cached += len(plans) - len(todo)
        if todo:
            lm = _load(recipe, mut)
            tally.loads += 1
            for p in todo:
                fresh = _evaluate(recipe, mut, lm, p, manager)
                store.put_many({keys[p.name]: fresh})
                got[keys[p.name]] = fresh
                tally.new += 1
            del lm
        for p in plans:
            entry = got[keys[p.name]]
            prov = {
                "harness": f"lm-eval {version}",
                "task_config_hash": p.config_hash,
                "limit": cfg.limit,
                "sentence_splitter": splitter,
            }
            rows += _rows(mut, entry, prov)
            log.append([r for r in _sample_records(mut, entry, keys[p.name]) if _is_new(log, r)])
    return rows


def _load(recipe, mut):
    """The harness's model for `mut`, loaded by the backend running it (see models/chat/factory.harness_engine)."""
    engine = harness_engine(recipe.eval.backend)
    spec = LocalModel(recipe.model, mut.base_path, mut.adapter_path, mut.adapter_scale, mut.label,
                      recipe.eval.lm_eval.batch_size)
    with _one_line_errors(f"loading {mut.label}"):
        return engine.lm_eval(spec)


def _evaluate(recipe, mut, lm, plan, manager) -> dict:
    """The cache entry of one task (or group) on one model."""
    from lm_eval import simple_evaluate

    cfg = recipe.eval.lm_eval
    print(f"lm-eval {plan.name} on {mut.label}", flush=True)
    with _one_line_errors(f"{plan.name} for {mut.label}"), scaled_adapter(lm.model, mut.adapter_scale):
        res = simple_evaluate(
            model=lm,
            tasks=[plan.spec],
            task_manager=manager,
            num_fewshot=cfg.num_fewshot,
            limit=cfg.limit,
            apply_chat_template=cfg.apply_chat_template,
            log_samples=True,
            gen_kwargs={"max_gen_toks": cfg.max_gen_toks} if cfg.max_gen_toks else None,
            bootstrap_iters=cfg.bootstrap_iters,
        )
    members = _members(plan.name, res.get("group_subtasks") or {})
    metrics = {**(res.get("results") or {}), **(res.get("groups") or {})}
    return {
        "results": {k: metrics[k] for k in members if k in metrics},
        "n": {k: (res.get("n-samples") or {}).get(k, {}).get("effective") for k in members},
        "higher_is_better": {k: (res.get("higher_is_better") or {}).get(k, {}) for k in members},
        "n_shot": {k: (res.get("n-shot") or {}).get(k) for k in members},
        "samples": {k: [_compact(s) for s in (res.get("samples") or {}).get(k, [])] for k in members},
    }


@contextmanager
def _one_line_errors(what: str):
    """A hub task offline, a task config or model the harness rejects: one line, not a traceback."""
    try:
        yield
    except IftkitError:
        raise
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise IftkitError(f"eval.lm_eval: the harness failed on {what}: {type(exc).__name__}: {first[:300]}") from None


def _members(name: str, group_subtasks: dict) -> list[str]:
    out, stack = [], [name]
    while stack:
        k = stack.pop(0)
        if k not in out:
            out.append(k)
            stack += group_subtasks.get(k, [])
    return out


def _compact(sample: dict) -> dict:
    """One document's result, small: its prompt, the model's answer, and each scalar metric."""
    args = sample.get("arguments") or [[""]]
    first = args[0][0] if isinstance(args[0], (list, tuple)) and args[0] else args[0]
    resp = sample.get("filtered_resps")
    if isinstance(resp, list) and resp and isinstance(resp[0], str):
        prediction = resp[0]
    else:  # loglikelihoods of each choice: two models answered alike only if these match
        prediction = json.dumps(_round(resp))
    scores = {
        m: float(sample[m])
        for m in sample.get("metrics") or []
        if isinstance(sample.get(m), (bool, int, float)) and not isinstance(sample.get(m), str)
    }
    return {
        "doc_id": sample.get("doc_id"),
        "doc_hash": sample.get("doc_hash") or json_hash(sample.get("doc")),
        "filter": sample.get("filter", "none"),
        "prompt": str(first if isinstance(first, str) else json.dumps(first)),
        "prediction": prediction,
        "target": str(sample.get("target")),
        "scores": scores,
    }


def _round(x):
    if isinstance(x, float):
        return round(x, 4)
    if isinstance(x, (list, tuple)):
        return [_round(v) for v in x]
    return x


def _scorer_name(metric: str, filt: str) -> str:
    return metric if filt == "none" else f"{metric},{filt}"


def _rows(mut, entry: dict, prov: dict) -> list[dict]:
    rows = []
    for task, metrics in entry["results"].items():
        for key, value in metrics.items():
            metric, _, filt = key.partition(",")
            if key in _NOT_METRICS or metric in _NOT_METRICS or metric.endswith("_stderr") or not _number(value):
                continue
            se = metrics.get(f"{metric}_stderr,{filt}")
            se = float(se) if _number(se) else None
            mean = float(value)
            rows.append(
                {
                    "model": mut.label,
                    "adapter_path": mut.adapter_path,
                    "suite": LM_EVAL_PREFIX + task,
                    "task": "__all__",
                    "scorer": _scorer_name(metric, filt or "none"),
                    "n": entry["n"].get(task) or metrics.get("sample_len"),
                    "mean": mean,
                    "ci_low": None if se is None else mean - Z95 * se,
                    "ci_high": None if se is None else mean + Z95 * se,
                    "stderr": se,
                    "higher_is_better": bool((entry["higher_is_better"].get(task) or {}).get(metric, True)),
                    "scale": [None, None],
                    "n_failed": 0,
                    "num_fewshot": entry["n_shot"].get(task),
                    **prov,
                }
            )
    return rows


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and not (isinstance(v, float) and math.isnan(v))


def _sample_records(mut, entry: dict, key: str) -> list[SampleRecord]:
    out = []
    for task, samples in entry["samples"].items():
        for s in samples:
            scores = {_scorer_name(m, s["filter"]): v for m, v in s["scores"].items()}
            out.append(
                SampleRecord(
                    prompt=[{"role": "user", "content": s["prompt"]}],
                    prediction=s["prediction"],
                    reference=s["target"],
                    gold=None,
                    task=task,
                    category="lm_eval",
                    meta={"doc_id": s["doc_id"]},
                    model=mut.label,
                    suite=LM_EVAL_PREFIX + task,
                    sample_id=f"{s['doc_hash'][:16]}:{s['filter']}",
                    adapter_path=mut.adapter_path,
                    scores=scores,
                    generation_key=key,
                )
            )
    return out


def _is_new(log, rec: SampleRecord) -> bool:
    old = log.get(rec.key)
    return old is None or old.generation_key != rec.generation_key
