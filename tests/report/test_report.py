import struct

import numpy as np
import pytest

from iftkit.evaluation.scorers import get_scorer
from iftkit.report.axes import ReportSpec
from iftkit.report.points import attach_samples, points
from iftkit.report.render import write_report
from iftkit.report.summary import recommend


def rows_for(cells):
    rows = []
    for cell, grid, ind, gen in cells:
        for suite, mean in (("in_domain", ind), ("general", gen)):
            rows.append(dict(cell=cell, grid=grid, suite=suite, task="__all__", scorer="task_tolerant", mean=mean))
            rows.append(dict(cell=cell, grid=grid, suite=suite, task="__all__", scorer="rougeL", mean=mean / 2))
    return rows


CELLS = [
    ("base", {}, 0.30, 0.60),
    ("r0-s0", {"mix.target_ratio": 0.0}, 0.31, 0.61),
    ("r0-s1", {"mix.target_ratio": 0.0}, 0.33, 0.59),
    ("r1-s0", {"mix.target_ratio": 0.1}, 0.70, 0.59),
    ("r1-s1", {"mix.target_ratio": 0.1}, 0.72, 0.58),
    ("r5-s0", {"mix.target_ratio": 0.5}, 0.85, 0.50),
    ("r5-s1", {"mix.target_ratio": 0.5}, 0.83, 0.52),
    ("r10-s0", {"mix.target_ratio": 1.0}, 0.95, 0.20),
    ("r10-s1", {"mix.target_ratio": 1.0}, 0.93, 0.22),
]


def test_points_pool_seeds_and_recommend_s1_s2():
    pts = points(rows_for(CELLS), "task_tolerant", "mix.target_ratio")
    assert [p.x for p in pts] == ["base", 0.0, 0.1, 0.5, 1.0]
    p01 = pts[2]
    assert p01.seeds == 2 and abs(p01.in_domain - 0.71) < 1e-9 and p01.in_sd > 0
    recs = {r.scenario: r for r in recommend(pts, keep_general=0.95)}
    # 0.5 keeps 0.51 < 0.57 (95% of 0.60), so S1 is 0.1; S2 is the specialist
    # a clear lead, but 2 seeds per point and no per-prompt scores: never "high"
    assert recs["S1"].point.x == 0.1 and recs["S1"].confidence.startswith("medium")
    assert "2 seeds per point are too few" in recs["S1"].confidence
    assert recs["S2"].point.x == 1.0
    third = [(c.replace("s1", "s2"), g, i + 0.01, gen) for c, g, i, gen in CELLS if c.endswith("s1")]
    pts3 = points(rows_for(CELLS + third), "task_tolerant", "mix.target_ratio")
    # 3 seeds, still no per-prompt scores: the prompts' own sampling variability is unmeasured, never "high"
    s1 = {r.scenario: r for r in recommend(pts3, keep_general=0.95)}["S1"]
    assert s1.confidence.startswith("medium") and "sampling variability was not measured" in s1.confidence


def test_seed_means_that_agree_exactly_without_per_prompt_scores_decide_nothing():
    # 3 seeds per point, every seed of a point scoring the same: no spread was measured anywhere
    cells = [("base", {}, 0.30, 0.60)]
    for ratio, ind in ((0.1, 0.925), (0.5, 0.950)):
        cells += [(f"r{ratio}-s{k}", {"mix.target_ratio": ratio}, ind, 0.60) for k in range(3)]
    pts = points(rows_for(cells), "task_tolerant", "mix.target_ratio")
    s2 = {r.scenario: r for r in recommend(pts, keep_general=0.5)}["S2"]
    assert s2.point.x == 0.5 and [p.x for p in s2.tied] == [0.1] and s2.confidence.startswith("low")


def test_one_seed_per_point_never_gets_high_with_per_prompt_scores():
    rows, samples = _paired(
        {
            "base": ({}, _bits(10), _bits(40)),
            "r1": ({"mix.target_ratio": 0.1}, _bits(30), _bits(40)),
            "r5": ({"mix.target_ratio": 0.5}, _bits(58), _bits(40)),
        }
    )
    recs, _ = _recs(rows, samples)
    # the same lead that gets "high" with seeds counted: one seed cannot speak for retraining
    assert recs["S2"].point.x == 0.5 and recs["S2"].tied == []
    assert recs["S2"].confidence.startswith("medium: these adapters differ in-domain on these prompts")
    assert "retraining variability was not measured" in recs["S2"].confidence


def test_no_point_keeps_general_says_so():
    pts = points(rows_for([CELLS[0], CELLS[7]]), "task_tolerant", "mix.target_ratio")
    s1 = recommend(pts, 0.95)[0]
    assert s1.point is None and "no point keeps" in s1.reason


def test_single_seed_confidence_is_unknown():
    pts = points(rows_for(CELLS[:2] + CELLS[3:4]), "task_tolerant", "mix.target_ratio")
    assert recommend(pts, 0.5)[0].confidence.startswith("unknown")


def png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_report_files(tmp_path):
    files = write_report(rows_for(CELLS), tmp_path, ReportSpec("demo", "mix.target_ratio", "task_tolerant", 0.95),
                         {"target_task": "sentiment"})
    w, h = png_size(files.tradeoff_png)
    assert w > 600 and h > 400
    png_size(files.scores_png)
    html = files.html.read_text()
    assert html.count("data:image/png;base64,") == 2 and "http" not in html.replace("https://", "").split("<body>")[0]
    md = files.markdown.read_text()
    assert "S1: **ratio=0.1**" in md and "S2: **ratio=1.0**" in md
    assert "| rougeL |" in md
    assert files.summary["recommendations"][0]["x"] == 0.1


def _free_text_rows():
    """A free-text user task: task scorers only have general-suite rows (catalog tasks there)."""
    rows = []
    for cell, grid, ind, gen in CELLS[:5]:
        rows.append(dict(cell=cell, grid=grid, suite="general", task="__all__", scorer="task_tolerant", mean=gen))
        for scorer, scale in (("chrf", 1.0), ("rougeL", 0.5)):
            for suite, mean in (("in_domain", ind), ("general", gen)):
                rows.append(
                    dict(
                        cell=cell,
                        grid=grid,
                        suite=suite,
                        task="__all__",
                        scorer=scorer,
                        mean=mean * scale,
                        n=40,
                        ci_low=mean * scale - 0.1,
                        ci_high=mean * scale + 0.1,
                    )
                )
    return rows


def test_free_text_target_falls_back_to_a_reference_scorer_and_says_so(tmp_path):
    meta = {"target_task": "summaries", "target_spec": {"kind": "free_text", "description": "free-text task"}}
    files = write_report(_free_text_rows(), tmp_path, ReportSpec("s", "mix.target_ratio", "task_tolerant", 0.95), meta)
    md = files.markdown.read_text()
    assert files.summary["primary_scorer"] == "chrf"
    assert "`task_tolerant` has no in-domain scores: the target is a free-text task" in md
    assert "reference-based `chrf` instead" in md
    assert "In-domain test set: 40 rows (held out from the user's file); the base model's 95 % CI on it is ±0.100" in md
    assert all(r["x"] is not None for r in files.summary["recommendations"])


def test_a_missing_scorer_is_named_as_the_reason_for_no_recommendation(tmp_path):
    rows = [r for r in _free_text_rows() if r["scorer"] == "task_tolerant"]  # no in-domain scores at all
    files = write_report(rows, tmp_path, ReportSpec("s", "mix.target_ratio", "task_tolerant", 0.95),
                         {"target_task": "t"})
    recs = files.summary["recommendations"]
    assert [r["x"] for r in recs] == [None, None]
    assert "`task_tolerant` has no in-domain scores" in recs[0]["reason"]
    assert "no trained cells" not in files.markdown.read_text()


def test_an_in_domain_only_eval_is_named_as_the_reason_for_no_recommendation(tmp_path):
    rows = [dict(r, scorer="task_tolerant") for r in _free_text_rows() if r["suite"] == "in_domain"
            and r["scorer"] == "chrf"]
    files = write_report(rows, tmp_path, ReportSpec("s", "mix.target_ratio", "task_tolerant", 0.95),
                         {"target_task": "t"})
    recs = files.summary["recommendations"]
    assert [r["x"] for r in recs] == [None, None]
    assert "scored only the in-domain suite" in recs[0]["reason"] and "no general suite" in recs[0]["reason"]


def _paired(cells_scores, n=60, seed=0):
    """Rows + per-prompt samples from {cell: (grid, in-domain 0/1 scores, general 0/1 scores)}."""
    rows, samples = [], {}
    for cell, (grid, ind, gen) in cells_scores.items():
        got = samples.setdefault(cell, {})
        for suite, vals in (("in_domain", ind), ("general", gen)):
            rows.append(
                dict(
                    cell=cell,
                    grid=grid,
                    suite=suite,
                    task="__all__",
                    scorer="task_tolerant",
                    mean=float(np.mean(vals)),
                    n=len(vals),
                    values="binary",
                    scale=[0.0, 1.0],
                )
            )
            for i, v in enumerate(vals):
                got[(suite, f"{suite}-{i}")] = (
                    f"{cell}-{suite}-{i}" if cell != "base" else f"base-{suite}-{i}",
                    {"task_tolerant": float(v)},
                )
    return rows, samples


def _bits(k, n=60):
    return np.array([1.0] * k + [0.0] * (n - k))


def _recs(rows, samples, keep=0.95):
    pts = points(rows, "task_tolerant", "mix.target_ratio")
    attach_samples(pts, samples, "task_tolerant")
    return {r.scenario: r for r in recommend(pts, keep)}, pts


def test_points_far_apart_are_separated_with_a_paired_ci():
    rows, samples = _paired(
        {
            "base": ({}, _bits(10), _bits(40)),
            "r1-s0": ({"mix.target_ratio": 0.1}, _bits(30), _bits(40)),
            "r1-s1": ({"mix.target_ratio": 0.1}, _bits(31), _bits(40)),
            "r5-s0": ({"mix.target_ratio": 0.5}, _bits(58), _bits(40)),
            "r5-s1": ({"mix.target_ratio": 0.5}, _bits(57), _bits(40)),
        }
    )
    recs, _ = _recs(rows, samples)
    assert recs["S2"].point.x == 0.5 and recs["S2"].tied == []
    assert recs["S2"].confidence.startswith("high") and "95 % CI" in recs["S2"].confidence


def test_points_within_noise_are_reported_as_tied():
    ind_a = _bits(40)
    ind_b = np.roll(_bits(41), 3)  # one more right answer, on other prompts: no real lead
    rows, samples = _paired(
        {
            "base": ({}, _bits(10), _bits(40)),
            "r1": ({"mix.target_ratio": 0.1}, ind_a, _bits(40)),
            "r5": ({"mix.target_ratio": 0.5}, ind_b, _bits(40)),
        }
    )
    recs, _ = _recs(rows, samples)
    assert recs["S2"].point.x == 0.5 and [p.x for p in recs["S2"].tied] == [0.1]
    assert recs["S2"].confidence.startswith("low: the test set cannot separate it from 0.1")
    # not separated is not "as good": that needs the equivalence test at the margin (2 % of [0, 1] by default)
    assert "as good" not in recs["S2"].confidence and "none is shown within ±0.02" in recs["S2"].confidence
    pts = points(rows, "task_tolerant", "mix.target_ratio")
    attach_samples(pts, samples, "task_tolerant")
    wide = {r.scenario: r for r in recommend(pts, 0.95, margin=0.15)}["S2"]
    assert "any of them is as good on this evidence: each is shown within ±0.15" in wide.confidence


def test_s1_needs_the_general_score_above_the_floor_with_confidence():
    # r5 keeps the general mean just above 95 % of base, but prompt-level noise puts its CI below the floor
    gen_base = _bits(40)
    gen_noisy = gen_base.copy()
    gen_noisy[:8], gen_noisy[40:48] = 0.0, 1.0  # loses 8 right answers, gains 8
    rows, samples = _paired(
        {
            "base": ({}, _bits(10), gen_base),
            "r1": ({"mix.target_ratio": 0.1}, _bits(20), _bits(50)),
            "r5": ({"mix.target_ratio": 0.5}, _bits(55), gen_noisy),
        }
    )
    recs, pts = _recs(rows, samples)
    r5 = next(p for p in pts if p.x == 0.5)
    assert r5.general >= 0.95 * (40 / 60) and r5.keeps_general is None  # undetermined: neither above nor below
    assert recs["S1"].point.x == 0.1 and "with 95 % confidence" in recs["S1"].reason
    # the undetermined point would beat the pick: named, with the test size that would decide it
    (note,) = recs["S1"].notes
    assert note.startswith("0.5 would beat the pick in-domain") and "held-out general prompts (now 60)" in note
    # its interval is its own; the verdict is family-wise over both points tested, and the note says so
    assert "95 % CI [" in note and "before Holm's correction over 2 points" in note


def test_all_points_below_the_floor_give_no_s1_recommendation():
    rows, samples = _paired(
        {"base": ({}, _bits(10), _bits(50)), "r5": ({"mix.target_ratio": 0.5}, _bits(55), _bits(10))}
    )
    recs, _ = _recs(rows, samples)
    assert recs["S1"].point is None and "no point keeps" in recs["S1"].reason


def test_report_shows_cis_identical_outputs_and_power(tmp_path):
    rows, samples = _paired(
        {
            "base": ({}, _bits(10), _bits(40)),
            "r1": ({"mix.target_ratio": 0.1}, _bits(30), _bits(40)),
            "r5": ({"mix.target_ratio": 0.5}, _bits(58), _bits(40)),
        }
    )
    # r1 answered exactly like the base model everywhere
    samples["r1"] = {k: (samples["base"][k][0], v[1]) for k, v in samples["r1"].items()}
    rows.append(
        dict(
            cell="base",
            grid={},
            suite="in_domain",
            task="__all__",
            scorer="task_tolerant",
            mean=10 / 60,
            n=60,
            ci_low=0.08,
            ci_high=0.26,
        )
    )
    files = write_report(rows, tmp_path, ReportSpec("s", "mix.target_ratio", "task_tolerant", 0.95),
                         {"target_task": "t"}, samples=samples)
    md = files.markdown.read_text()
    assert "| ratio=0.5 | 1 | 0.967 [" in md and "n=60" in md
    assert "| ratio=0.1 | 1 | 0.500 [" in md and "| 120/120 |" in md
    assert "**Warning:** the adapter at ratio=0.1 gave the base model's exact output on 120 of 120 prompts" in md
    assert "- Power, in-domain (task_tolerant on in_domain, 60 prompts x 1 seed(s), adapter vs adapter" in md
    point = next(p for p in files.summary["points"] if p["x"] == 0.5)
    assert point["in_ci"]["ci_low"] < point["in_domain"] < point["in_ci"]["ci_high"] + 1e-9


def _with_benchmarks():
    """Adapters learn the trained families (general rises) while an lm-eval task falls at r5:
    held-out general must drive S1 by default. lm-eval rows come without per-prompt samples."""
    rows, samples = _paired(
        {
            "base": ({}, _bits(10), _bits(30)),
            "r1": ({"mix.target_ratio": 0.1}, _bits(30), _bits(40)),
            "r5": ({"mix.target_ratio": 0.5}, _bits(55), _bits(50)),
        }
    )
    grid = {r["cell"]: r["grid"] for r in rows}
    for cell, acc in (("base", 0.60), ("r1", 0.59), ("r5", 0.40)):
        se = (acc * (1 - acc) / 60) ** 0.5
        for metric, value in (("acc", acc), ("acc_norm", acc - 0.05)):
            rows.append(
                dict(
                    cell=cell,
                    grid=grid[cell],
                    suite="lm_eval/iftkit_mc",
                    task="__all__",
                    scorer=metric,
                    mean=value,
                    n=60,
                    ci_low=value - 1.96 * se,
                    ci_high=value + 1.96 * se,
                    stderr=se,
                )
            )
    return rows, samples


def test_held_out_general_is_the_default_axis_and_lm_eval_rows_without_samples_keep_their_ci(tmp_path):
    rows, samples = _with_benchmarks()
    files = write_report(rows, tmp_path, ReportSpec("demo", "mix.target_ratio", "task_tolerant", 0.95),
                         {"target_task": "sentiment"}, samples=samples)
    axis = files.summary["general_axis"]
    assert (axis["suite"], axis["scorer"], axis["held_out"]) == ("lm_eval/iftkit_mc", "acc", True)
    recs = {r["scenario"]: r for r in files.summary["recommendations"]}
    assert recs["S1"]["x"] == 0.1  # r5 gained trained-family general but lost held-out general
    pts = {p["x"]: p for p in files.summary["points"]}
    assert pts[0.5]["general"] == pytest.approx(0.40) and pts[0.5]["keeps_general"] is False
    # no per-document scores for the harness rows: the point keeps the row's stderr CI
    assert pts[0.5]["gen_ci"]["ci_low"] == pytest.approx(0.40 - 1.96 * (0.4 * 0.6 / 60) ** 0.5)
    md = files.markdown.read_text()
    assert "held-out general (acc on lm_eval/iftkit_mc)" in md and "rule fixed in code" in md
    # the pick under every other general axis: trained-family general would have picked 0.5
    assert "- S1 = ratio=0.1 under 2 of 3 general axes (elsewhere: `task_tolerant` on `general`: ratio=0.5)." in md
    assert "| held-out | lm_eval/iftkit_mc | acc_norm |" in md and "| trained-family | general | task_tolerant |" in md
    assert "| acc |" not in md.split("## Every scorer")[1]  # harness metrics are not scorers of our suites


def test_general_kind_and_scorer_are_configurable(tmp_path):
    rows, samples = _with_benchmarks()
    trained = write_report(rows, tmp_path / "t", ReportSpec("demo", "mix.target_ratio",
                                                            "task_tolerant", 0.95, general_kind="trained"),
                           {}, samples=samples)
    assert trained.summary["general_axis"]["suite"] == "general"
    assert {r["scenario"]: r["x"] for r in trained.summary["recommendations"]}["S1"] == 0.5
    named = write_report(rows, tmp_path / "n", ReportSpec("demo", "mix.target_ratio", "task_tolerant", 0.95,
                                                          general_scorer="lm_eval/iftkit_mc:acc_norm"),
                         {}, samples=samples)
    assert (named.summary["general_axis"]["suite"], named.summary["general_axis"]["scorer"]) == (
        "lm_eval/iftkit_mc",
        "acc_norm",
    )
    missing = write_report(rows, tmp_path / "m", ReportSpec("demo", "mix.target_ratio",
                                                            "task_tolerant", 0.95, general_scorer="held_out:rougeL"),
                           {}, samples=samples)
    assert missing.summary["general_axis"]["reason"].startswith(
        "sweep.general_scorer held_out:rougeL has no base-model"
    )
    assert missing.summary["general_axis"]["suite"] == "lm_eval/iftkit_mc"


def test_scores_that_cannot_see_the_task_name_no_point(tmp_path):
    # the entity task today: every point at 0.000 tolerant
    zero = [(c, g, 0.0, gen) for c, g, _, gen in CELLS]
    md = write_report(rows_for(zero), tmp_path, ReportSpec("demo", "mix.target_ratio", "task_tolerant", 0.95),
                      {"target_task": "ner"}).markdown.read_text()
    assert "S1: no recommendation — every trained point scores 0.000 in-domain on `task_tolerant`" in md
    assert "S2: no recommendation" in md and "**ratio=" not in md.split("## Recommendation")[1].split("##")[0]


def test_truncated_answers_are_shown_per_point_and_a_mostly_cut_pick_is_not_named(tmp_path):
    rows = rows_for(CELLS)
    cut = {"r10-s0": 70, "r10-s1": 66, "r5-s0": 2}  # of 117 answers per seed
    for r in rows:
        r.update(n_answers=117, n_truncated=cut.get(r["cell"], 0), max_new_tokens=64)
    files = write_report(rows, tmp_path, ReportSpec("demo", "mix.target_ratio", "task_tolerant", 0.95),
                         {"target_task": "ner"})
    md = files.markdown.read_text()
    assert "- 2 of 234 answers of ratio=0.5 hit the 64-token limit" in md
    assert "- Warning: 136 of 234 answers of ratio=1.0 hit the 64-token limit" in md
    # S2 would be the specialist, whose answers were mostly cut: the report says so instead
    assert "S2: no recommendation — 1.0 would be the pick, but 136 of 234 of its in-domain answers hit the" in md
    assert "S1: **ratio=0.1**" in md  # S1's pick has whole answers
    assert tuple(files.summary["points"][-1]["truncated"]) == (136, 234, 64)


def test_record_list_targets_get_an_items_table_with_micro_figures(tmp_path):
    rows = rows_for(CELLS)
    outputs = get_scorer("task_items").outputs()  # each row names its aggregation, as aggregate_rows writes it
    for cell, grid, ind, _ in CELLS:
        for scorer, v in (("task_items_precision", ind + 0.05), ("task_items_recall", ind - 0.05),
                          ("task_items_f1", ind), ("task_items_key_f1", ind + 0.02)):
            rows.append(dict(cell=cell, grid=grid, suite="in_domain", task="__all__", scorer=scorer, mean=v,
                             aggregation=outputs[scorer].aggregation))
    md = write_report(rows, tmp_path, ReportSpec("demo", "mix.target_ratio", "task_tolerant", 0.95),
                      {"target_task": "ner"}).markdown.read_text()
    table = md.split("## In-domain items (answers that are lists of records)")[1].split("##")[0]
    assert "| `task_items_precision`, micro over items | 0.350 | 0.370 ± 0.014 |" in table
    assert "| `task_items_f1`, micro over items | 0.300 |" in table
    assert "| `task_items_key_f1`, mean per answer |" in table
    assert "| `task_tolerant` |" in table  # its rows here carry no aggregation: none is claimed
    # a target whose answers are not lists has no such table
    plain = write_report(rows_for(CELLS), tmp_path / "p", ReportSpec("demo", "mix.target_ratio", "task_tolerant", 0.95),
                         {"target_task": "x"}).markdown.read_text()
    assert "In-domain items" not in plain


def test_few_differing_prompts_are_named_and_perfect_scores_keep_an_interval(tmp_path):
    # r5 beats r1 on 4 prompts and loses on none: an exact sign test gives p = 0.125, no claim
    rows, samples = _paired(
        {
            "base": ({}, _bits(10), _bits(40)),
            "r1": ({"mix.target_ratio": 0.1}, _bits(56), _bits(40)),
            "r5": ({"mix.target_ratio": 0.5}, _bits(60), _bits(40)),
        }
    )
    recs, pts = _recs(rows, samples)
    assert recs["S2"].point.x == 0.5 and recs["S2"].confidence.startswith("low")
    assert "4 of 60 prompts differ" in recs["S2"].confidence
    top = next(p for p in pts if p.x == 0.5)
    assert top.in_domain == 1.0 and 0.93 < top.in_ci.ci_low < 0.95 and top.in_ci.ci_high == 1.0  # Wilson
    md = write_report(rows, tmp_path, ReportSpec("demo", "mix.target_ratio", "task_tolerant", 0.95),
                      {}, samples=samples).markdown
    text = md.read_text()
    assert "1.000 [0.940, 1.000] n=60" in text and "Holm's correction" in text


def test_a_scorer_that_scored_nothing_is_flagged_in_the_report(tmp_path):
    rows = rows_for(CELLS[:4])
    for cell, grid, _, _ in CELLS[:4]:
        rows.append(dict(cell=cell, grid=grid, suite="in_domain", task="__all__", scorer="judge", mean=None, n=0,
                         n_failed=40))
    text = write_report(rows, tmp_path, ReportSpec("demo", "mix.target_ratio", "task_tolerant", 0.9),
                        {}).markdown.read_text()
    assert "**Warning:** scorer `judge` scored 0 of 160 answers (every one unparseable or failed)" in text
    assert "scorer `task_tolerant` scored 0" not in text


def test_the_base_model_judging_itself_is_never_the_general_axis(tmp_path):
    from iftkit.meta.judge_trust import Trust

    rows = []
    for cell, grid, ind, gen in CELLS[:4]:
        rows.append(dict(cell=cell, grid=grid, suite="in_domain", task="__all__", scorer="task_tolerant", mean=ind))
        for scorer, value in (("judge", 5.0), ("embedding", gen)):
            rows.append(dict(cell=cell, grid=grid, suite="held_out", task="__all__", scorer=scorer, mean=value))
    own = write_report(rows, tmp_path / "a", ReportSpec("demo", "mix.target_ratio", "task_tolerant", 0.9),
                       {"self_judge": True})
    trusted = Trust("a judge measured above chance", "k", True, "agreement above chance", output="reference")
    other = write_report(rows, tmp_path / "b", ReportSpec("demo", "mix.target_ratio", "task_tolerant", 0.9),
                         {}, judge_trust=trusted)
    assert own.summary["general_axis"]["scorer"] == "embedding"
    # an independent judge the trust gate accepts comes first by the rule
    assert other.summary["general_axis"]["scorer"] == "judge"
    assert "rule fixed in code" in own.summary["general_axis"]["reason"]


def test_report_flags_a_point_whose_answers_are_degenerate(tmp_path):
    rows, samples = _paired(
        {
            "base": ({}, _bits(10), _bits(40)),
            "r1": ({"mix.target_ratio": 0.1}, _bits(30), _bits(40)),
        }
    )
    broken = ("<h2><h2><h2><h2><h2>", "")
    samples["r1"] = {k: (broken[i % 2], v[1]) for i, (k, v) in enumerate(samples["r1"].items())}
    files = write_report(rows, tmp_path, ReportSpec("s", "mix.target_ratio", "task_tolerant", 0.95),
                         {"target_task": "t"}, samples=samples)
    md = files.markdown.read_text()
    assert "| ratio=0.1 ⚠ degenerate answers | 1 |" in md
    assert "**Warning:** ratio=0.1 answered 120 of 120 prompts with nothing or one repeated piece" in md
    assert "base model ⚠" not in md
    point = next(p for p in files.summary["points"] if p["x"] == 0.1)
    assert list(point["degenerate_answers"]) == [120, 120]


def test_prompts_sharing_a_template_give_cluster_robust_intervals():
    from iftkit.evaluation.records import SampleRecord
    from iftkit.report.points import diff

    # r5 gains on whole templates (6 of 10 prompts of each of 6 templates), not prompt by prompt
    gain = np.zeros(60)
    for t in range(6):
        gain[t * 10: t * 10 + (6 if t % 2 else 1)] = 1.0
    rows, samples = _paired({"base": ({}, _bits(10), _bits(40)),
                             "r1": ({"mix.target_ratio": 0.1}, np.roll(_bits(20), 5), _bits(40)),
                             "r5": ({"mix.target_ratio": 0.5}, np.maximum(np.roll(_bits(20), 5), gain), _bits(40))})
    records = [SampleRecord([], "", "", task="t", meta={"template": i // 10}, suite="in_domain",
                            sample_id=f"in_domain-{i}") for i in range(60)]
    clusters = {(r.suite, r.sample_id): r.cluster for r in records}
    assert clusters[("in_domain", "in_domain-15")] == "t/1"
    plain, robust = points(rows, "task_tolerant", "mix.target_ratio"), points(rows, "task_tolerant", "mix.target_ratio")
    attach_samples(plain, samples, "task_tolerant")
    attach_samples(robust, samples, "task_tolerant", clusters=clusters)
    d_plain, d_robust = diff(plain[2], plain[1], "in_domain"), diff(robust[2], robust[1], "in_domain")
    assert d_plain.clusters is None and d_robust.clusters == 6
    assert d_robust.ci_high - d_robust.ci_low > d_plain.ci_high - d_plain.ci_low
    assert robust[1].clusters["general"] is None  # general prompts carry no cluster: independent


def _seeded_sweep(shifts):
    """Rows + samples: the base model and one point per ratio, one cell per seed whose answers are those of the
    ratio shifted by `shift` right answers (a seed effect), 0/1 scores on 100 prompts."""
    cells = {"base": ({}, _bits(30, 100), _bits(60, 100))}
    for ratio, k, seeds in shifts:
        for i, shift in enumerate(seeds):
            cells[f"r{ratio}-s{i}"] = ({"mix.target_ratio": ratio}, np.roll(_bits(k + shift, 100), 7 * i),
                                       _bits(60, 100))
    return _paired(cells)


def test_the_report_pools_seed_variance_over_the_sweep_and_says_so(tmp_path):
    from iftkit.report.points import diff

    rows, samples = _seeded_sweep([(0.1, 40, (0, 2)), (0.25, 45, (0, 3)), (0.5, 50, (1, 3)), (1.0, 55, (0, 2))])
    files = write_report(rows, tmp_path, ReportSpec("s", "mix.target_ratio", "task_tolerant", 0.95),
                         {"target_task": "t"}, samples=samples)
    md = files.markdown.read_text()
    said = "In-domain: Training-seed variance is pooled over the 4 points with seeds (4 degrees of freedom"
    assert md.count(said) == 1 and md.count("General: Training-seed variance is pooled") == 1
    # the one point whose seeds vary more than the pool keeps its own term, and the report says why and what helps
    assert md.count("vary more than the pool's") == 1
    assert ("- ratio=0.25: its 2 seeds (0.450, 0.480) vary more than the pool's, so its interval rests on its own "
            "seeds (1 degree of freedom, not the pool's 4)") in md
    assert '"high" needs that, per-prompt scores and 2 or more seeds per point' in md
    pts = points(rows, "task_tolerant", "mix.target_ratio")
    attach_samples(pts, samples, "task_tolerant")
    assert pts[0].seed_pool["in_domain"] is None  # the base model has no seeds
    pooled = diff(pts[4], pts[3], "in_domain")
    for p in pts:
        p.seed_pool.clear()
    alone = diff(pts[4], pts[3], "in_domain")
    assert pooled.ci_high - pooled.ci_low < alone.ci_high - alone.ci_low


def test_seed_variances_that_differ_are_not_pooled_and_the_report_says_so(tmp_path):
    rows, samples = _seeded_sweep([(0.1, 40, (0, 1, 2)), (0.25, 45, (0, 1, 2)), (0.5, 45, (0, 20, 40)),
                                   (1.0, 55, (0, 1, 2))])
    files = write_report(rows, tmp_path, ReportSpec("s", "mix.target_ratio", "task_tolerant", 0.95),
                         {"target_task": "t"}, samples=samples)
    md = files.markdown.read_text()
    assert md.count("In-domain: Seed variances differ across the 4 points (Bartlett's test p = ") == 1
    assert "each point's interval uses its own seeds' spread, not a pooled one" in md


BEACONS = ("![x](http://beacon.invalid/p.png) [y](http://beacon.invalid/) <http://beacon.invalid> "
           "<img src=http://beacon.invalid> [z]\n\n[z]: http://beacon.invalid/ref")


def _tag_attributes(html: str) -> str:
    import re

    return " ".join(re.findall(r"<[^>]*>", html))


def test_report_html_renders_markdown_in_names_labels_and_model_output_as_text(tmp_path):
    # a recipe name, a user task's name and its description (built from the user's labels) carry Markdown
    meta = {"target_task": f"avis {BEACONS}", "target_spec": {"description": f"labels: {BEACONS}"}}
    files = write_report(rows_for(CELLS), tmp_path, ReportSpec(f"demo {BEACONS}", "mix.target_ratio",
                                                               "task_tolerant", 0.95),
                         meta)
    html = files.html.read_text()
    tags = _tag_attributes(html)
    assert 'src="http' not in html and 'href="http' not in html and "beacon.invalid" not in tags, tags
    assert "<a " not in html
    # the text is still there, as text; the charts stay embedded
    assert "![x](http://beacon.invalid/p.png)" in html and "&lt;http://beacon.invalid&gt;" in html
    assert html.count('src="data:image/png;base64,') == 2 and "<table>" in html


def test_markdown_page_keeps_tables_but_makes_no_links_or_images(tmp_path):
    from iftkit.core.html import markdown_page

    answer = BEACONS.replace("\n", " ")  # a model's answer quoted in a table cell
    page = markdown_page(f"| cell | answer |\n|---|---|\n| ratio=0.5 | {answer} |\n\n{BEACONS}\n", "t")
    assert "<td>ratio=0.5</td>" in page and "beacon.invalid" not in _tag_attributes(page)
    assert "<img" not in page and "<a " not in page
