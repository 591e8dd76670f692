"""The report's first screen: a small table with the pick per scenario, how sure (one word and an interval), why
in one line, and what would make it surer, above the detail it restates."""

import numpy as np
from report.test_report import _bits, _paired

from iftkit.report.axes import ReportSpec
from iftkit.report.render import write_report

SPEC = ReportSpec("demo", "mix.target_ratio", "task_tolerant", 0.95)


def _glance(files) -> dict:
    """{scenario: (pick, how sure, why, to be surer)} from report.md's first table."""
    md = files.markdown.read_text()
    section = md.split("## At a glance", 1)[1].split("Target task:", 1)[0]
    rows = [line.strip("|").split(" | ") for line in section.splitlines() if line.startswith("| S")]
    return {cells[0].strip().split(":")[0]: tuple(c.strip() for c in cells[1:]) for cells in rows}


def _seeds(grid, ind: list, gen: int, n=60):
    """One cell per seed: in-domain successes per seed, the same general successes."""
    return {f"{grid}-s{k}": ({"mix.target_ratio": grid}, _bits(i, n), _bits(gen, n)) for k, i in enumerate(ind)}


def _close_race_cells() -> dict:
    # 0.5 and 1.0 a prompt apart in-domain (S2 cannot separate them: "low"); 1.0 loses general ability, so S1
    # reads 0.5 against 0.0, far below it in-domain
    return {"base": ({}, _bits(10), _bits(40)), **_seeds(0.0, [12, 13], 45), **_seeds(0.5, [50, 51], 45),
            **_seeds(1.0, [51, 52], 20)}


def _close_race():
    return _paired(_close_race_cells())


def test_the_first_screen_reads_low_with_the_lead_and_names_the_decide_step(tmp_path):
    rows, samples = _close_race()
    files = write_report(rows, tmp_path, SPEC, {"target_task": "t"}, samples=samples)
    glance = _glance(files)
    pick, sure, why, surer = glance["S2"]
    assert pick == "**ratio=1.0**"
    assert sure.startswith("low: lead over ratio=0.5 +0.017 [")
    assert why == "best in-domain score (0.858); general ability ignored"
    assert "`iftkit sweep decide --config <recipe>` adds them where they could change the pick" in surer
    pick, sure, why, surer = glance["S1"]
    assert pick == "**ratio=0.5**" and sure.startswith("high: lead over ratio=0.0 +0.633 [")
    assert why.startswith("best in-domain score (0.842) among points that keep at least 95% of the base model's")
    assert surer == "nothing: the lead holds"
    # the first screen comes first; the detail it restates stays below, unchanged
    md = files.markdown.read_text()
    assert md.index("## At a glance") < md.index("Target task:") < md.index("## Recommendation")
    assert "- S2: **ratio=1.0** — highest in-domain score, general ability ignored. Confidence: low:" in md


def test_the_first_screen_is_the_html_page_s_first_table(tmp_path):
    rows, samples = _close_race()
    html = write_report(rows, tmp_path, SPEC, {"target_task": "t"}, samples=samples).html.read_text()
    first = html.index("<table>")
    assert html.index("At a glance") < first < html.index("Target task:")
    cells = html[first:html.index("</table>")].replace("\n", "")
    assert "<td>S1: stay a good generalist</td><td><strong>ratio=0.5</strong></td><td>high: lead over" in cells


def test_a_pick_that_cannot_be_decided_says_why_and_what_to_do(tmp_path):
    # no adapter keeps 95 % of the base model's general score: S1 names none; S2 still picks
    rows, samples = _paired({"base": ({}, _bits(10), _bits(50)), **_seeds(0.5, [40, 41], 20),
                             **_seeds(1.0, [50, 52], 10)})
    glance = _glance(write_report(rows, tmp_path / "floor", SPEC, {"target_task": "t"}, samples=samples))
    pick, sure, why, surer = glance["S1"]
    assert (pick, sure) == ("none", "none")
    assert why == "no point keeps >= 95% of the base general score with 95 % confidence"
    assert surer == "use the base model, a smaller ratio, or more test prompts"
    # every adapter scores 0 in-domain: the scorer cannot see the task, so neither scenario names a point
    zero = {c: (g, np.zeros(60), gen) for c, (g, _, gen) in _close_race_cells().items()}
    rows, samples = _paired(zero)
    glance = _glance(write_report(rows, tmp_path / "zero", SPEC, {"target_task": "t"}, samples=samples))
    for scenario in ("S1", "S2"):
        pick, sure, why, surer = glance[scenario]
        assert (pick, sure) == ("none", "none")
        assert why == "every trained point scores 0.000 in-domain on `task_tolerant`"
        assert surer == "check the answers in samples.jsonl, the task kind, or score with another scorer"


def test_after_decide_looks_the_lead_interval_is_at_the_level_its_test_ran_at(tmp_path):
    # ratio 1.0 leads 0.5 by 0.2 over 60 prompts, one comparison in S2: p = 0.027, below 5 % but above the
    # 1.67 % each of three decide looks tests at. A 95 % interval would exclude 0 next to "low"; the interval
    # shown is the 98.3 % one, which the verdict agrees with
    cells = {"base": ({}, _bits(10), _bits(40)), **_seeds(0.5, [30, 31], 45), **_seeds(1.0, [42, 43], 45)}
    rows, samples = _paired(cells)
    once = _glance(write_report(rows, tmp_path / "once", SPEC, {"target_task": "t"}, samples=samples))
    assert once["S2"][1].startswith("high: lead over ratio=0.5 +0.200 [+0.039, +0.348]")
    looks = {"alpha": 0.05 / 3, "looks": 3, "added": [], "lines": []}
    files = write_report(rows, tmp_path / "looks", SPEC, {"target_task": "t", "decide": looks}, samples=samples)
    assert _glance(files)["S2"][1] == "low: lead over ratio=0.5 +0.200 [-0.035, +0.422] (98.3 % CI)"
    md = files.markdown.read_text()
    assert "98.3 % CI [-0.035, 0.422]" in md and "the CI excludes 0" not in md
