"""IFBench is held-out general and a benchmark: the general axis prefers it (prompt-level loose) over the
33-prompt instruction set, and an lm-eval task the user asked for over it; the rule says so."""

from iftkit.report.axes import AXIS_RULE, choose_general, general_axes, is_held_out

IFBENCH_OUTPUTS = ("ifbench_inst_strict", "ifbench_prompt_strict", "ifbench_inst_loose", "ifbench_prompt_loose")


def _rows(suites: dict) -> list[dict]:
    """suite -> scorers; the base model and one trained cell, each with a suite-level mean."""
    return [dict(cell=cell, grid=grid, suite=suite, task="__all__", scorer=scorer, mean=0.5)
            for cell, grid in (("base", {}), ("r1", {"mix.target_ratio": 0.1}))
            for suite, scorers in suites.items() for scorer in scorers]


def test_ifbench_prompt_loose_is_the_general_axis_before_the_instruction_set():
    rows = _rows({"general": ["task_tolerant"], "held_out": ["embedding", "rougeL"], "ifbench": IFBENCH_OUTPUTS})
    assert is_held_out("ifbench")
    suite, scorer, why = choose_general(rows, "held_out", None, "task_tolerant")
    assert (suite, scorer) == ("ifbench", "ifbench_prompt_loose") and "IFBench" in why
    axes = general_axes(rows)
    assert axes[:4] == [("ifbench", s) for s in ("ifbench_prompt_loose", "ifbench_prompt_strict",
                                                 "ifbench_inst_loose", "ifbench_inst_strict")]
    assert axes[4:6] == [("held_out", "embedding"), ("held_out", "rougeL")] and axes[-1] == ("general", "task_tolerant")
    assert "IFBench, prompt-level loose" in AXIS_RULE
    # the trained-family axis stays on request
    assert choose_general(rows, "trained", None, "task_tolerant")[:2] == ("general", "task_tolerant")


def test_an_lm_eval_task_the_user_asked_for_comes_before_ifbench():
    rows = _rows({"held_out": ["embedding"], "ifbench": IFBENCH_OUTPUTS, "lm_eval/arc_easy": ["acc"]})
    assert choose_general(rows, "held_out", None, "task_tolerant")[:2] == ("lm_eval/arc_easy", "acc")
    named = choose_general(rows, "held_out", "ifbench:ifbench_prompt_strict", "task_tolerant")
    assert named[:2] == ("ifbench", "ifbench_prompt_strict")
