import struct

from iftkit.report.render import write_report
from iftkit.report.summary import points, recommend


def rows_for(cells):
    rows = []
    for cell, grid, ind, gen in cells:
        for suite, mean in (("in_domain", ind), ("general", gen)):
            rows.append(dict(cell=cell, grid=grid, suite=suite, task="__all__", scorer="task_tolerant", mean=mean))
            rows.append(dict(cell=cell, grid=grid, suite=suite, task="__all__", scorer="rougeL", mean=mean / 2))
    return rows


CELLS = [
    ("base", {}, 0.30, 0.60),
    ("r0-s0", {"mix.target_ratio": 0.0}, 0.31, 0.61), ("r0-s1", {"mix.target_ratio": 0.0}, 0.33, 0.59),
    ("r1-s0", {"mix.target_ratio": 0.1}, 0.70, 0.59), ("r1-s1", {"mix.target_ratio": 0.1}, 0.72, 0.58),
    ("r5-s0", {"mix.target_ratio": 0.5}, 0.85, 0.50), ("r5-s1", {"mix.target_ratio": 0.5}, 0.83, 0.52),
    ("r10-s0", {"mix.target_ratio": 1.0}, 0.95, 0.20), ("r10-s1", {"mix.target_ratio": 1.0}, 0.93, 0.22),
]


def test_points_pool_seeds_and_recommend_s1_s2():
    pts = points(rows_for(CELLS), "task_tolerant", "mix.target_ratio")
    assert [p.x for p in pts] == ["base", 0.0, 0.1, 0.5, 1.0]
    p01 = pts[2]
    assert p01.seeds == 2 and abs(p01.in_domain - 0.71) < 1e-9 and p01.in_sd > 0
    recs = {r.scenario: r for r in recommend(pts, keep_general=0.95)}
    # 0.5 keeps 0.51 < 0.57 (95% of 0.60), so S1 is 0.1; S2 is the specialist
    assert recs["S1"].point.x == 0.1 and recs["S1"].confidence.startswith("high")
    assert recs["S2"].point.x == 1.0


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
    files = write_report(rows_for(CELLS), tmp_path, "demo", "mix.target_ratio", "task_tolerant", 0.95, {"target_task": "sentiment"})
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
                rows.append(dict(cell=cell, grid=grid, suite=suite, task="__all__", scorer=scorer, mean=mean * scale,
                                 n=40, ci_low=mean * scale - 0.1, ci_high=mean * scale + 0.1))
    return rows


def test_free_text_target_falls_back_to_a_reference_scorer_and_says_so(tmp_path):
    meta = {"target_task": "summaries", "target_spec": {"kind": "free_text", "description": "free-text task"}}
    files = write_report(_free_text_rows(), tmp_path, "s", "mix.target_ratio", "task_tolerant", 0.95, meta)
    md = files.markdown.read_text()
    assert files.summary["primary_scorer"] == "chrf"
    assert "`task_tolerant` has no in-domain scores: the target is a free-text task" in md
    assert "reference-based `chrf` instead" in md
    assert "In-domain test set: 40 rows (held out from the user's file); the base model's 95 % CI on it is ±0.100" in md
    assert all(r["x"] is not None for r in files.summary["recommendations"])


def test_a_missing_scorer_is_named_as_the_reason_for_no_recommendation(tmp_path):
    rows = [r for r in _free_text_rows() if r["scorer"] == "task_tolerant"]  # no in-domain scores at all
    files = write_report(rows, tmp_path, "s", "mix.target_ratio", "task_tolerant", 0.95, {"target_task": "t"})
    recs = files.summary["recommendations"]
    assert [r["x"] for r in recs] == [None, None]
    assert "`task_tolerant` has no in-domain scores" in recs[0]["reason"]
    assert "no trained cells" not in files.markdown.read_text()
