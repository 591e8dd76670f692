"""sweep/decide_plan.py: which points get one more training seed, within the budget, and when nothing is added;
summary.recommend's alpha (the level decide spends over its looks)."""

import numpy as np

from iftkit.core.stats import Estimate
from iftkit.meta.calibration_sim import SCALES, Setting, simulate
from iftkit.report.summary import Point, Recommendation, recommend
from iftkit.sweep.decide_plan import plan_round
from iftkit.sweep.decide_sim import sweep_points

UNDECIDED = Estimate(0.01, -0.02, 0.04, 100)  # a general margin whose interval straddles the floor


def pt(x, in_domain, keeps=True, step=None, final=None, seeds=2):
    p = Point(x, "", in_domain, 0.5, seeds=seeds, cells=[f"ratio={x}-seed=0"], step=step, final_step=final)
    p.keeps_general = keeps
    p.general_margin = UNDECIDED if keeps is None else Estimate(0.1, 0.05, 0.15, 100)
    return p


def rec(scenario, point, confidence, tied=()):
    return Recommendation(scenario, point, "why", confidence, list(tied))


def xs(plan):
    return [p.x for p, _ in plan.seeds]


def test_nothing_is_added_once_both_picks_are_high():
    a, b = pt(0.5, 0.8), pt(1.0, 0.6)
    recs = [rec("S1", a, "high: leads"), rec("S2", a, "high: leads")]
    assert plan_round(recs, [a, b], budget=4).cells == 0
    assert plan_round([rec("S1", a, "low: ..."), rec("S2", a, "high")], [a, b], budget=0).cells == 0


def test_the_open_pick_and_the_points_tied_with_it_get_a_seed_best_first():
    a, b, c, d = pt(0.1, 0.5), pt(0.5, 0.7), pt(1.0, 0.8), pt(0.0, 0.1)
    recs = [rec("S1", c, "high: leads"), rec("S2", c, "low: cannot separate", tied=[a, b])]
    plan = plan_round(recs, [a, b, c, d], budget=4)
    assert xs(plan) == [1.0, 0.5, 0.1]  # d is separated from the pick: another seed of it changes nothing
    assert plan.seeds[0][1] == "S2 pick, low confidence" and plan.seeds[1][1] == "tied with the S2 pick"


def test_the_budget_cuts_the_least_decisive_points():
    a, b, c = pt(0.1, 0.5), pt(0.5, 0.7), pt(1.0, 0.8)
    recs = [rec("S1", c, "high"), rec("S2", c, "low", tied=[a, b])]
    assert xs(plan_round(recs, [a, b, c], budget=2)) == [1.0, 0.5]


def test_s1_seeds_the_undetermined_points_that_would_beat_its_pick_not_those_below_it():
    low_und, pick, high_und = pt(0.0, 0.2, keeps=None), pt(0.1, 0.5), pt(1.0, 0.9, keeps=None)
    below = pt(0.5, 0.7, keeps=False)
    recs = [rec("S1", pick, "only one candidate"), rec("S2", high_und, "high")]
    plan = plan_round(recs, [low_und, pick, high_und, below], budget=4)
    assert xs(plan) == [1.0]  # one candidate: only an undetermined rival above it can change S1
    assert "undetermined on the general floor; would beat the S1 pick" in plan.seeds[0][1]


def test_one_seed_per_point_seeds_every_candidate_still_at_one():
    a, b, c = pt(0.1, 0.5, seeds=1), pt(0.5, 0.7, seeds=2), pt(1.0, 0.8, seeds=1)
    recs = [rec("S1", c, "high"), rec("S2", c, "medium: ... with one seed per point retraining variability was not "
                                              "measured")]
    assert xs(plan_round(recs, [a, b, c], budget=4)) == [1.0, 0.1]


def test_checkpoints_the_base_model_and_unseeing_scores_get_nothing():
    base = pt("base", 0.1)
    ckpt = pt(1.0, 0.9, step=5, final=10)
    final = pt(1.0, 0.7)
    recs = [rec("S1", final, "high"), rec("S2", ckpt, "medium: leads the final adapters' pick", tied=[base])]
    assert xs(plan_round(recs, [base, ckpt, final], budget=4)) == []
    refused = [rec("S1", None, "none"), rec("S2", None, "none")]
    assert plan_round(refused, [base, pt(0.5, 0.0, keeps=None)], budget=4).cells == 0


def test_an_intermediate_value_comes_after_the_seeds_and_only_within_the_budget():
    a, b = pt(0.5, 0.7), pt(1.0, 0.8)
    recs = [rec("S1", b, "low", tied=[a]), rec("S2", b, "high")]
    asked = []

    def propose(points):
        asked.append(len(points))
        return 0.75, "the knee lies between 0.5 and 1.0"

    plan = plan_round(recs, [a, b], budget=4, propose_ratio=propose, ratio_cells=2)
    assert xs(plan) == [1.0, 0.5] and plan.ratio == (0.75, "the knee lies between 0.5 and 1.0") and plan.cells == 4
    assert plan_round(recs, [a, b], budget=3, propose_ratio=propose, ratio_cells=2).ratio is None
    assert plan_round(recs, [a, b], budget=4, propose_ratio=propose, ratio_cells=0).ratio is None  # one already
    assert plan_round(recs, [a, b], budget=4, propose_ratio=lambda p: None, ratio_cells=2).ratio is None


def _clear_leader():
    x_in = simulate(Setting(0.2, False, "binary", 100, 3, adapters=3), 1, np.random.default_rng(1))[0]
    x_gen = simulate(Setting(0.0, False, "binary", 100, 3, adapters=4), 1, np.random.default_rng(2))[0]
    return sweep_points(x_in, x_gen, [3, 3, 3], SCALES["binary"])


def test_recommend_takes_the_level_its_confidence_words_are_tested_at():
    at_5 = recommend(_clear_leader(), 0.8)
    assert at_5[1].confidence.startswith("high") and at_5[1].point.x == 0
    strict = recommend(_clear_leader(), 0.8, alpha=1e-9)
    assert not strict[1].confidence.startswith("high")


def test_decide_proposes_the_fitted_curves_intermediate_value_for_a_one_key_grid():
    from iftkit.config.schema import Recipe
    from iftkit.sweep.decide import curve_proposal

    two_keys = Recipe.model_validate({"sweep": {"grid": {"mix.target_ratio": [0.0, 1.0], "lora.r": [4, 8]}}})
    assert curve_proposal(two_keys) is None
    one_key = Recipe.model_validate({"sweep": {"grid": {"mix.target_ratio": [0.0, 0.5, 1.0]}}})
    propose = curve_proposal(one_key)
    assert callable(propose)
    assert propose([]) is None  # no points: no knee, so nothing to add (not a (None, why) pair)
