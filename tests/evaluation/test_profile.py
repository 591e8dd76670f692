"""evaluation/profile.py: exclusive phase accounting, and one profiled eval on the tiny model whose
phases cover the run and whose decode passes match the decode loop's own step count."""

import itertools

import pytest

from iftkit.config.loader import validate
from iftkit.core.errors import IftkitError
from iftkit.evaluation.profile import OTHER, Profile, profile_eval


def test_every_clock_interval_goes_to_the_innermost_open_phase():
    ticks = itertools.count()  # each reading one unit later: the charges are exact integers
    prof = Profile(clock=lambda: next(ticks))
    prof.start()  # reads 0
    with prof.phase("score judge", scope="judge"):  # 1 .. 4
        prof.enter(prof.scoped("prefill"), tokens=12)  # 2
        prof.leave()  # 3
    prof.stop()  # 5
    assert {n: p.seconds for n, p in prof.phases.items()} == {OTHER: 2, "score judge": 2, "judge prefill": 1}
    assert prof.phases["judge prefill"].tokens == 12 and prof.total == 5


@pytest.fixture
def recipe(tiny_model_dir, mix_dir):
    return validate({
        "model": {"id": str(tiny_model_dir)},
        "data": {"target_task": "sentiment"},
        "tracking": {"mode": "disabled"},
        "eval": {"mix_dir": str(mix_dir), "scorers": ["task", "rouge", "judge"], "max_new_tokens": 6,
                 "batch_size": 4, "instruction_samples_per_category": 1, "bootstrap_samples": 10,
                 "judge": {"backend": "local", "model": str(tiny_model_dir), "dtype": "model"}},
    })


def test_profiled_eval_phases_cover_the_run_and_count_every_decode_step(recipe, tmp_path):
    prof, report = profile_eval(recipe, [], tmp_path / "work", prompts=2)
    phases = prof.phases
    for name in ("data", "load", "prefill", "decode", "lm head", "score task_strict", "score rougeL",
                 "score judge", "judge load", "judge prefill", "judge lm head", OTHER):
        assert name in phases, name
    assert all(p.seconds >= 0 for p in phases.values())
    assert sum(p.seconds / prof.total for p in phases.values()) == pytest.approx(1.0)
    # 2 rows in each of in_domain, general and held_out, all generated afresh (empty caches)
    assert report.counters.generations.new == 6 and report.counters.generations.cached == 0
    def calls(*names):
        return sum(phases[n].calls for n in names if n in phases)

    # every one-token forward is a step of the decode loop, and every forward ends in the LM head once
    assert calls("decode", "judge decode") == prof.decode_steps() > 0
    assert calls("lm head", "judge lm head") == calls("prefill", "decode", "judge prefill", "judge decode")
    assert phases["decode"].tokens >= phases["decode"].calls  # one token per alive row per step
    assert prof.hooks == []  # the models keep no hook after the profile


def test_profile_refuses_a_work_dir_that_holds_a_cache(recipe, tmp_path):
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "cache").mkdir()
    with pytest.raises(IftkitError, match="must be empty"):
        profile_eval(recipe, [], tmp_path / "work", prompts=2)
