"""Meta-evaluation end to end: read samples, pick the reference, measure CIT/CAT/TFA, write reports."""

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

from iftkit.config.schema import Recipe
from iftkit.core.atomic import write_text_atomic
from iftkit.core.errors import IftkitError
from iftkit.evaluation.records import SampleRecord
from iftkit.evaluation.scorers import TASK_ANSWER, is_judge, parent_of, playing, plays
from iftkit.meta import findings, pairwise, scorer_access
from iftkit.meta import human as human_io
from iftkit.meta.judge_trust import record as record_trust
from iftkit.meta.requirements import build_tfa_items, measure_scorer, measure_tfa
from iftkit.meta.samples import default_task_lookup, gold_reference, read_records, scorer_names

PAIRWISE_HINT = "pairwise"


def human_reference(records: list[SampleRecord], scores: list[human_io.HumanScore], score_with: Callable):
    """Reference = normalised human scores. Human rows that match a sample (prompt + response) reuse
    its scores; the others become new records scored now with `score_with(records)`."""
    norm = human_io.normalise_scores(scores)
    index = {human_io.pair_key(r.prompt, r.prediction): r for r in records}
    out_records, reference, fresh = [], [], []
    for h, v in zip(scores, norm):
        r = index.get(human_io.pair_key(h.prompt, h.response))
        if r is None:
            r = SampleRecord(
                model="human-file",
                suite="human",
                task=h.task,
                category=h.task,
                sample_id=h.where,
                prompt=[{"role": "user", "content": h.prompt}],
                prediction=h.response,
                reference=h.reference,
                gold=None,
                scores={},
            )
            fresh.append(r)
        out_records.append(r)
        reference.append(v)
    if fresh:
        score_with(fresh)
    return out_records, reference


@dataclass
class MetaEvalOptions:
    """How far a meta-evaluation goes (the flags of `iftkit meta-eval`) and what it scores with."""

    scorers: Optional[list] = None  # scorer names; None: every scorer in the samples
    tfa_max_items: int = 60
    resamples: int = 1000
    judge_max_items: int = 15  # judge scorers cost model calls per text: TFA items and gold-derived pairs
    max_pairs: Optional[int] = None
    factory: Optional[Callable] = None  # name -> scorer; None: the registry's, configured by `recipe`
    task_lookup: Optional[Callable] = None
    recipe: Any = None
    log: Callable = print


@dataclass
class _Scoring:
    """The scorers measured, and the notes the report carries about them."""

    names: list
    objs: dict
    errors: dict = field(default_factory=dict)  # name -> why it could not be built
    notes: list = field(default_factory=list)


def run_meta_eval(results=None, human_file=None, out=None, opts: Optional[MetaEvalOptions] = None) -> dict:
    """Measure every scorer against the reference judgment; write meta_eval.{json,md,html} to `out`."""
    opts = opts or MetaEvalOptions()
    if results is None and human_file is None:
        raise IftkitError("give --results RUN_DIR (eval output) and/or --human FILE")
    records = read_records(results) if results is not None else []
    human_scores, human_pairs = human_io.split(human_io.load_human(human_file) if human_file else [])
    # human scores alone: rank them with the task's own checker
    names = opts.scorers or scorer_names(records) or (playing(TASK_ANSWER)[:1] if human_scores else [])
    sc = _Scoring(names, {})
    sc.objs, sc.errors = _build_scorers(names, opts.factory, opts.recipe, sc.notes)
    records, reference, reference_name = _reference(records, human_scores, human_file, sc, opts.task_lookup)
    if records and all(v is None for v in reference):
        sc.notes.append("no sample has a reference judgment (no catalog task with gold, no matching human rows)")
    reports = _measure_scorers(records, reference, sc, opts)
    pairs = human_pairs[:opts.max_pairs] if human_pairs else _pairs_from_records(records, reference,
                                                                                  opts.judge_max_items)
    against = f"human preferences ({human_file})" if human_pairs else "gold-derived preferences on the results"
    pair_results = _measure_pairwise(sc.objs, pairs, against, opts.resamples, sc.notes, opts.log,
                                     graded=bool(human_pairs))
    if human_pairs and not pair_results:
        sc.notes.append(
            f"{len(human_pairs)} pairwise human judgments read, but no pairwise judge scorer to measure against them"
        )
    tallies = {id(t): t for t in map(scorer_access.verdict_tally, sc.objs.values()) if t is not None}
    for t in tallies.values():  # one line per judge: how many of its verdicts are usable at all
        opts.log(f"meta-eval: {t.line()}")
    return _write(out, reports, reference_name, len(records), pair_results, sc.notes)


def _reference(records, human_scores, human_file, sc: _Scoring, task_lookup) -> tuple:
    """(records, their reference judgments, what the reference is): human scores where given, else gold."""
    if human_scores:
        records, reference = human_reference(records, human_scores,
                                             lambda fresh: _score_fresh(fresh, sc.objs, sc.notes))
        return records, reference, f"human scores ({human_file})"
    if not records:
        return records, [], f"human pairwise preferences ({human_file})"
    reference = gold_reference(records, task_lookup or default_task_lookup())
    for name in (n for n in sc.names if plays(n, TASK_ANSWER)):
        sc.notes.append(
            f"{name} is the reference judgment itself here: its CIT/CAT are 1 by construction; "
            "its TFA is still measured (perturbations and wrong answers are not chosen by any scorer)"
        )
    return records, reference, "gold answers (task catalog, tolerant scorer)"


def _measure_scorers(records, reference, sc: _Scoring, opts: MetaEvalOptions) -> list:
    """CIT/CAT of each scorer against the reference, and its TFA on perturbed references and wrong answers."""
    items = build_tfa_items(records, max_items=opts.tfa_max_items) if sc.objs and records else []
    if sc.objs and records and not items:
        sc.notes.append("TFA: no item had both a reformattable reference and a wrong answer from the same task")
    reports = []
    for name in sc.names if records else []:  # pairwise-only human files have no samples to rank
        scale = scorer_access.scale_of(sc.objs[name]) if name in sc.objs else None
        rep = measure_scorer(records, reference, name, scale=scale, resamples=opts.resamples)
        if name in sc.objs and items:
            def score_texts(q, scorer=sc.objs[name], nm=name):
                return _safe_score(scorer, q, nm, sc.notes)

            # every judge output costs model calls per text; lexical/task scorers are free
            mine = items[:opts.judge_max_items] if is_judge(name) else items
            rep.tfa, rep.tfa_by_perturbation, rep.tfa_ties = measure_tfa(mine, score_texts, opts.resamples)
        elif name in sc.errors:
            rep.tfa.note = sc.errors[name]
        reports.append(rep)
        opts.log(f"meta-eval: {name}: CIT τ {rep.cit_kendall.fmt()}  CAT τ {rep.cat_pooled.fmt()}  "
                 f"TFA {rep.tfa.fmt()}")
    return reports


def record_judge_trust(payload: dict, recipe, human_file) -> list[str]:
    """A judge measured on human pairs: cache its agreement under its identity, for the sweep report's trust
    gate (meta/judge_trust.py), and say what the gate will make of it. recipe None: the built-in defaults."""
    if not human_file:
        return []
    recipe = recipe if recipe is not None else Recipe()
    lines = []
    for name, summary in (payload.get("pairwise") or {}).items():
        if is_judge(name) and str(summary.get("against", "")).startswith("human"):
            output = "reference" if summary.get("pointwise") else "pairwise"
            lines.append(record_trust(recipe, summary, human_file, output=output).line())
    return lines


def add_sections(out: Path, md: str, sections: dict, images=()) -> tuple[str, str]:
    """(markdown, html) of meta_eval with more sections {title: lines} (judge trust, learning dynamics)
    and the charts; rewrites meta_eval.md where a section was added, and meta_eval.html."""
    for title, lines in sections.items():
        if lines:
            md += f"\n## {title}\n\n" + "\n".join(f"- {line}" for line in lines) + "\n"
    if any(sections.values()):
        write_text_atomic(Path(out) / "meta_eval.md", md)
    html_text = findings.html_page(md, list(images))
    write_text_atomic(Path(out) / "meta_eval.html", html_text)
    return md, html_text


def _build_scorers(names, factory, recipe, notes):
    factory = factory or scorer_access.registry_factory(recipe)
    objs, errors = {}, {}
    for name in names:
        try:
            objs[name] = factory(name)
        except Exception as exc:  # an unavailable scorer (missing model, bad option) must not sink the table
            errors[name] = f"{type(exc).__name__}: {exc}"
            notes.append(f"{name}: scorer could not be built ({errors[name]}); its TFA is n/a")
    return objs, errors


def _score_fresh(fresh, scorer_objs, notes):
    for name, sc in scorer_objs.items():
        for r, v in zip(fresh, _safe_score(sc, [(r, r.prediction) for r in fresh], name, notes)):
            r.scores[name] = v


def _measure_pairwise(scorer_objs, pairs, against, resamples, notes, log, graded: bool = False) -> dict:
    """Each pairwise judge on the pairs in both orders; with graded (human pairs), the reference-guided judge
    too, grading each answer alone (its own measurement for the trust gate)."""
    out = {}
    for name, sc in scorer_objs.items():
        judge = scorer_access.pairwise_callable(sc)
        grader = scorer_access.pointwise_callable(sc) if graded and name == parent_of(name) else None
        if judge is None and grader is not None:
            log(f"meta-eval: {name}: grading the {2 * len(pairs)} answers of {len(pairs)} pairs one at a time")
            summary = pairwise.summarise(pairwise.score_pairs(grader, pairs), resamples, pointwise=True)
            summary["against"], summary["description"] = against, pairwise.describe(summary)
            out[name] = summary
            log(f"meta-eval: {name}: {summary['description']}")
            continue
        if judge is None:
            if PAIRWISE_HINT in name:
                notes.append(f"{name}: exposes no (prompt, first, second) call; position/length bias not measured")
            continue
        log(f"meta-eval: {name}: judging {len(pairs)} pairs in both orders ({2 * len(pairs)} verdicts)")
        summary = pairwise.summarise(pairwise.judge_pairs(judge, pairs), resamples)
        summary["against"] = against
        summary["description"] = pairwise.describe(summary)
        summary["baselines"] = {
            "prefer_longer": pairwise.summarise(pairwise.judge_pairs(pairwise.prefer_longer, pairs), resamples),
            "chance": pairwise.chance_summary(),
        }
        out[name] = summary
        log(f"meta-eval: {name}: {summary['description']}")
    return out


def _write(out, reports, reference_name, n_records, pair_results, notes) -> dict:
    payload = {
        "reference": reference_name,
        "records": n_records,
        "scorers": [r.to_dict() for r in reports],
        "verdicts": {r.scorer: {"requirements": findings.verdicts(r), "sentence": findings.sentence(r)}
                     for r in reports},
        "pairwise": pair_results,
        "notes": notes,
    }
    md = findings.markdown(reports, reference_name, pair_results, notes)
    if out is not None:
        out = Path(out)
        write_text_atomic(out / "meta_eval.json", json.dumps(payload, indent=2, default=str))
        write_text_atomic(out / "meta_eval.md", md)
        write_text_atomic(out / "meta_eval.html", findings.html_page(md))
        payload["files"] = [str(out / f) for f in ("meta_eval.md", "meta_eval.html", "meta_eval.json")]
    payload["markdown"] = md
    return payload


def _safe_score(scorer, queries, name, notes):
    try:
        return scorer_access.text_scorer(scorer)(queries)
    except Exception as exc:  # a scorer failing on perturbed text is a finding to report, not a crash
        notes.append(f"{name}: scoring failed ({type(exc).__name__}: {exc})")
        return [None] * len(queries)


def _pairs_from_records(records, reference, limit):
    """Prediction vs reference pairs; a wrong prediction should lose, a correct one tie."""
    pairs, seen = [], set()
    for r, ref in zip(records, reference):
        if ref is None or not (r.prediction or "").strip() or not r.reference.strip() or r.prediction == r.reference:
            continue
        key = (r.prediction, r.reference)
        if key in seen:
            continue
        seen.add(key)
        prompt = human_io.prompt_text(r.prompt)
        pairs.append(human_io.HumanPair(prompt, r.prediction, r.reference, "tie" if ref >= 0.5 else "b", r.sample_id))
        if len(pairs) >= limit:
            break
    return pairs
