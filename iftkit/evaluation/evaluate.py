"""One eval run: the base model and each adapter, on every suite, with every scorer.

Order of work: generate for each model in turn (cached; a model is loaded only for what the
cache lacks), then run each scorer once over every model's samples (so a local judge loads
once), then derive the result rows. Samples already scored in the output dir are reused, so
a rerun only fills what is missing.

An answer's path, kept short (tests/evaluation/test_call_depth.py): run_eval -> _records_for_model ->
CachedChat.complete_many (the answer cache) -> the backend's complete_many -> greedy_answers ->
greedy_decode (models/chat/greedy.py), whose loop calls the model.
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from iftkit.config.schema import Recipe
from iftkit.core.errors import IftkitError
from iftkit.core.fingerprint import json_hash
from iftkit.core.paths import cache_dir
from iftkit.core.store import JsonStore
from iftkit.evaluation.answer_length import IFBENCH_LIMIT_KEY, AnswerLimit, in_domain_limit, truncation_lines
from iftkit.evaluation.counters import Counters
from iftkit.evaluation.degenerate import degenerate_warnings
from iftkit.evaluation.forgetting import likelihood_records
from iftkit.evaluation.generator import CachedGenerator, ModelUnderTest, read_adapter_card
from iftkit.evaluation.harness.benchmarks import run_benchmarks
from iftkit.evaluation.judge.client import JudgeClient
from iftkit.evaluation.records import SampleRecord
from iftkit.evaluation.results import SampleLog, aggregate_rows, empty_scorer_warning, empty_scorers, write_results
from iftkit.evaluation.scorers import build_for_recipe, expand, judge_scorers, requested_by
from iftkit.evaluation.suites import FORGETTING, IFBENCH, build_suites, resolve_mix_dir
from iftkit.models.adapter_scale import check_scale
from iftkit.models.chat.cache import CachedChat
from iftkit.models.chat.factory import LOCAL, check_backends, judge_backend
from iftkit.models.chat.types import GenConfig
from iftkit.models.resolve import resolve_model
from iftkit.tracking import resume_run
from iftkit.training.sft_inputs import use_bf16


@dataclass
class EvalResult:
    out_dir: Path
    counters: Counters
    rows: list = field(default_factory=list)
    judge_label: Optional[str] = None
    limits: dict = field(default_factory=dict)  # suite -> AnswerLimit, where it differs from eval.max_new_tokens
    truncation: list = field(default_factory=list)  # lines: answers the length limit cut, per model and suite
    warnings: list = field(default_factory=list)  # e.g. a model answering nothing or one repeated piece
    suite_notes: list = field(default_factory=list)  # lines: suites cut short (IFBench prompts left out)

    def lines(self) -> list[str]:
        c = self.counters
        out = [f"results: {self.out_dir}/results.jsonl (+ .parquet), samples: {self.out_dir}/samples.jsonl"]
        out += self.length_lines()
        out += self.warnings
        if self.judge_label:
            j = c.judge
            out.append(
                f"judge: {self.judge_label}; failed requests {j.failed}, retries {j.retries}; "
                f"tokens {j.prompt_tokens} in / {j.completion_tokens} out; cost ${j.cost:.4f}"
            )
            out.append(c.verdicts.line())
        out += [f"WARNING: {empty_scorer_warning(s, f)}" for s, f in empty_scorers(self.rows)]
        out.append(c.summary_line())
        return out

    def length_lines(self) -> list[str]:
        """Where a suite's generation limit came from, and the answers it cut."""
        return self.suite_notes + [lim.line(suite) for suite, lim in self.limits.items()] + self.truncation


def models_under_test(recipe: Recipe, adapters: list[str], include_base: bool = True, adapter_scale: float = 1.0):
    """The base model and each adapter, the adapters run at `adapter_scale` of their strength."""
    base_path = None
    muts, labels = [], set()
    for a in adapters:
        p = Path(a)
        if not p.is_dir():
            raise IftkitError(f"--adapters: not a directory: {p}")
        card = read_adapter_card(p)
        label = p.name if p.name not in labels and p.name != "base" else f"{p.parent.name}/{p.name}"
        labels.add(label)
        bp = card.get("base_model_path")
        if not bp or not Path(bp).exists():
            base_path = base_path or resolve_model(recipe.model.id, recipe.model.revision)
            bp = base_path
        muts.append(ModelUnderTest(label, bp, str(p), card, check_scale(adapter_scale)))
    if include_base:
        base_path = base_path or resolve_model(recipe.model.id, recipe.model.revision)
        muts.insert(0, ModelUnderTest("base", base_path))
    return muts


def build_judge_client(recipe: Recipe, store: JsonStore, counters: Counters, progress: bool = True) -> JudgeClient:
    """The recipe's judge (eval.judge) behind the judge cache; "base" = the recipe's base model, labelled weak."""
    j = recipe.eval.judge
    chat = CachedChat(
        judge_backend(recipe),
        store,
        counters.judge,
        progress,
        desc="judge",
        input_cost_per_1m=j.input_cost_per_1m,
        output_cost_per_1m=j.output_cost_per_1m,
    )
    return JudgeClient(
        chat,
        GenConfig(j.max_tokens, j.temperature),
        j.verdict,
        weak=j.backend == LOCAL and j.model == "base",
        tally=counters.verdicts,
    )


def scorer_names(recipe: Recipe) -> list[str]:
    """The scorers an eval of this recipe runs: eval.scorers with aliases expanded, then those a switch asks for."""
    names = expand(recipe.eval.scorers)
    return names + [n for n in requested_by(recipe) if n not in names]


def build_scorers(recipe: Recipe, names: list[str], judge_client_factory):
    return {name: build_for_recipe(name, recipe, judge_client_factory) for name in names}


@dataclass
class EvalRun:
    """What every step of one eval shares: the recipe, its suites and their generation limits, the sample log
    (samples.jsonl), the caches and the counters."""

    recipe: Recipe
    suites: dict
    limits: dict  # suite -> AnswerLimit (answer_limits); the other suites answer in eval.max_new_tokens
    log: SampleLog
    counters: Counters
    progress: bool = True
    stores: dict = field(default_factory=dict)  # "generations", "judge", "lm_eval" (when eval.lm_eval is set)

    @classmethod
    def open(cls, recipe: Recipe, suites: dict, limits: dict, out_dir: Path, progress: bool) -> "EvalRun":
        log = SampleLog(out_dir)
        root = Path(recipe.eval.cache_dir) if recipe.eval.cache_dir else cache_dir() / "eval"
        stores = {"generations": generation_store(recipe), "judge": JsonStore(root / "judge.sqlite", "judge")}
        if recipe.eval.lm_eval:
            stores["lm_eval"] = JsonStore(root / "lm_eval.sqlite", "lm_eval")
        return cls(recipe, suites, limits, log, Counters(), progress, stores)

    def close(self) -> None:
        """Closed at the end, so the caches are whole files again (WAL folded back in) for the next run."""
        for store in self.stores.values():
            store.close()


def run_eval(
    recipe: Recipe,
    adapters: list[str],
    out_dir,
    include_base: bool = True,
    progress: bool = True,
    adapter_scale: float = 1.0,
    say: Optional[Callable[[str], None]] = None,
) -> EvalResult:
    """say: told the suites' generation limits before anything is generated (the sweep's log)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    check_backends(recipe)
    names = scorer_names(recipe)
    muts = models_under_test(recipe, adapters, include_base, adapter_scale)
    if not muts:
        raise IftkitError("nothing to evaluate: give --adapters or keep the base model")
    notes: list[str] = []
    suites, limits = suites_and_limits(recipe, muts, out_dir, notes)
    if say:
        for line in notes + [lim.line(suite) for suite, lim in limits.items()]:
            say(line)
    run = EvalRun.open(recipe, suites, limits, out_dir, progress)
    try:
        bench_rows = []
        if "lm_eval" in run.stores:  # first, so a missing harness or task stops the run before any generation
            bench_rows = run_benchmarks(recipe, muts, run.stores["lm_eval"], run.counters.benchmarks, run.log)
        records = []
        for mut in muts:
            records += _records_for_model(run, mut)
        result, judge = _score(run, names, records, out_dir)
        result.rows += bench_rows
        write_results(out_dir, result.rows)
        run.log.compact()
        _log_to_wandb(muts, result.rows)
        result.suite_notes = notes
    finally:
        run.close()
    breaker = judge.breaker if judge else None
    if breaker is not None and breaker.open:
        for line in result.lines():
            print(line)
        raise IftkitError(
            f"judge stopped: {breaker.reason}; {run.counters.verdicts.failed} verdicts recorded as failed "
            f"in {out_dir}/samples.jsonl; rerun the same command to resume (answers so far are cached)"
        )
    return result


def suites_and_limits(recipe: Recipe, muts: list, out_dir: Path, notes: list) -> tuple[dict, dict]:
    """The suites' rows (suite -> rows) the models under test answer, and their generation limits (answer_limits)."""
    ev = recipe.eval
    needs_mix = "in_domain" in ev.suites or "general" in ev.suites
    mix_dir = resolve_mix_dir(recipe, [m.card or {} for m in muts], out_dir) if needs_mix else None
    suites = build_suites(recipe, mix_dir, notes)
    return suites, answer_limits(recipe, suites, muts[0].base_path)


def generation_store(recipe: Recipe) -> JsonStore:
    """The cache of generated answers (models/chat/cache.py) every eval of this machine shares."""
    root = Path(recipe.eval.cache_dir) if recipe.eval.cache_dir else cache_dir() / "eval"
    return JsonStore(root / "generations.sqlite", "generations")


def answer_limits(recipe: Recipe, suites: dict, base_path: str) -> dict:
    """suite -> AnswerLimit: the in-domain suite's, sized to its gold answers (answer_length.py), and
    IFBench's own (its answers are essays, not the general suites' short replies)."""
    out = {}
    if "in_domain" in suites:
        out["in_domain"] = in_domain_limit(recipe.eval, suites["in_domain"], base_path,
                                           bool(recipe.model.trust_remote_code))
    if IFBENCH in suites:
        out[IFBENCH] = AnswerLimit(recipe.eval.ifbench_max_new_tokens, IFBENCH_LIMIT_KEY)
    return out


def _score(run: EvalRun, names: list[str], records: list[SampleRecord], out_dir: Path):
    """Every scorer once over every model's records (a local judge loads once): (the EvalResult, the judge
    client or None when no scorer asked for one)."""
    recipe, counters = run.recipe, run.counters
    client_box = []

    def judge_client():
        if not client_box:
            client_box.append(build_judge_client(recipe, run.stores["judge"], counters, run.progress))
        return client_box[0]

    scorers = build_scorers(recipe, names, judge_client)
    result = EvalResult(out_dir, counters, judge_label=client_box[0].label if client_box else None,
                        limits={s: lim for s, lim in run.limits.items() if lim.tokens != recipe.eval.max_new_tokens},
                        truncation=truncation_lines(records), warnings=degenerate_warnings(records))
    for name, scorer in scorers.items():
        todo = score_records(name, scorer, records)
        if todo:
            run.log.append(todo)
        if name in judge_scorers():  # verdicts served from samples.jsonl count too: the line describes the results
            fresh = {id(r) for r in todo}
            for r in records:
                if id(r) not in fresh and r.judge.get(name):
                    for status, n in (r.judge[name].get("status") or {}).items():
                        setattr(counters.verdicts, status, getattr(counters.verdicts, status) + n)
    outputs = {o: s for sc in scorers.values() for o, s in sc.outputs().items()}
    result.rows = aggregate_rows(list(run.log.records.values()), outputs, recipe.eval.bootstrap_samples)
    return result, client_box[0] if client_box else None


def score_records(name: str, scorer, records: list[SampleRecord]) -> list[SampleRecord]:
    """Score the records `scorer` has no current values for; returns them. A record without a
    prediction (its generation failed) is not scored: every output of the scorer is failed on it,
    so it is counted in n_failed, never scored 0, and generated again on the next run."""
    outs = list(scorer.outputs())
    ident = scorer.identity()
    todo = [
        r
        for r in records
        if any(o not in r.scores for o in outs)
        or r.scorer_ids.get(name) != ident
        or (r.judge.get(name) or {}).get("retry")
        or r.prediction is None
    ]  # a verdict that got no answer is asked again
    # a likelihood scorer reads only records eval measured a likelihood for; the others never read those
    mine = [r for r in todo if (r.likelihood is not None) == scorer.reads_likelihood]
    for r in todo:
        if r.prediction is not None and (r.likelihood is not None) != scorer.reads_likelihood:
            r.scores.update({o: None for o in outs})  # does not apply
            r.failed = sorted(set(r.failed) - set(outs))
            r.scorer_ids[name] = ident
    answered = [r for r in mine if r.prediction is not None]
    res = scorer.score_detailed(answered) if answered else None
    for k, r in enumerate(answered):
        for o in outs:
            r.scores[o] = res.values.get(o, [None] * len(answered))[k]
        if res.details and res.details[k] is not None:
            r.judge[name] = res.details[k]
        r.failed = sorted((set(r.failed) - set(outs)) | _failed_outputs(res, k, name))
        r.scorer_ids[name] = ident
    for r in todo:
        if r.prediction is None:
            r.scores.update({o: None for o in outs})
            r.failed = sorted(set(r.failed) | set(outs))
    return todo


def _failed_outputs(res, k: int, name: str) -> set:
    """Outputs that failed for sample k: a scorer names them (a judge), or says True for its one output."""
    got = res.failed[k] if res.failed else False
    if isinstance(got, bool):
        return {name} if got else set()
    return set(got)


def generation_dtype(recipe) -> str:
    """eval.dtype resolved: "training" is bfloat16 where training runs in bf16 (the numbers the adapter was
    trained with), else the model's own dtype."""
    dtype = recipe.eval.dtype
    if dtype != "training":
        return dtype
    return "bfloat16" if use_bf16(recipe) and recipe.model.quantization.mode == "none" else "model"


def generation_model_cfg(recipe: Recipe):
    """The model section answers are generated with: the recipe's, in eval.dtype resolved (generation_dtype)."""
    dtype = generation_dtype(recipe)
    return recipe.model if dtype == "model" else recipe.model.model_copy(update={"dtype": dtype})


def _records_for_model(run: EvalRun, mut) -> list[SampleRecord]:
    """One model's records of every suite: those samples.jsonl holds for the same weights and decoding, the
    rest generated (through the answer cache) and appended to it as they come."""
    ev = run.recipe.eval
    gen = CachedGenerator(mut, generation_model_cfg(run.recipe), ev, run.stores["generations"], run.counters,
                          run.progress)
    records, new_rows = pending_generations(mut, gen, run.suites, run.log, run.limits)
    for (limit, gen_key), todo in new_rows.items():
        answers = gen.chat.complete_many([r.prompt for _, r in todo], GenConfig(max_new_tokens=limit))
        fresh = [
            SampleRecord(prompt=row.prompt, prediction=answer.text, reference=row.completion, gold=row.gold,
                         task=row.task, category=row.category, meta=row.meta, model=mut.label, suite=suite,
                         sample_id=row.content_hash(), adapter_path=mut.adapter_path, generation_key=gen_key,
                         truncated=answer.truncated, max_new_tokens=limit)
            for (suite, row), answer in zip(todo, answers)
        ]
        run.log.append(fresh)
        records += fresh
    if FORGETTING in run.suites:
        records += likelihood_records(mut, gen, run.suites[FORGETTING], run.log, ev.forgetting_max_tokens)
    gen.unload()
    return records


def pending_generations(mut, gen: CachedGenerator, suites, log, limits) -> tuple[list, dict]:
    """The records samples.jsonl (`log`) already holds for `mut` with the same weights and decoding, and
    {(generation limit, generation key): [(suite, row)]} of the prompts it still needs answers for, in the
    order they are asked (evaluation/mixed.py asks the same ones for several adapters at once)."""
    records, new_rows = [], {}
    for suite, rows in suites.items():
        if suite == FORGETTING:  # measured after generation: a serving engine is unloaded by then
            continue
        limit = limits[suite].tokens if suite in limits else gen.max_new_tokens
        # a stored prediction is reused only for the same weights and the same decoding
        gen_key = json_hash([mut.fingerprint(), gen.config_for(limit)])
        for row in rows:
            key = (mut.label, suite, row.task, row.content_hash())
            rec = log.get(key)
            if rec is not None and rec.generation_key == gen_key and rec.prediction is not None:
                gen.counters.generations.cached += 1  # the prediction is already in samples.jsonl
                records.append(rec)
            else:
                new_rows.setdefault((limit, gen_key), []).append((suite, row))
    return records, new_rows


def _log_to_wandb(muts, rows) -> None:
    """Log each adapter's results into its own training run (id from the adapter card)."""
    for mut in muts:
        wb = (mut.card or {}).get("wandb")
        if not wb:
            continue
        run = resume_run(wb, job_type="eval")
        if run is None:
            continue
        try:
            metrics = {}
            for r in rows:
                if r["mean"] is None or r["model"] not in (mut.label, "base"):
                    continue
                prefix = "eval" if r["model"] == mut.label else "eval_base"
                if prefix == "eval" and mut.adapter_scale != 1.0:  # never overwrite the adapter's own numbers
                    prefix = f"eval_adapter_scale_{mut.adapter_scale:g}"
                metrics[f"{prefix}/{r['suite']}/{r['task']}/{r['scorer']}"] = r["mean"]
            run.log(metrics)
            run.summary.update(metrics)
        finally:
            run.finish()
