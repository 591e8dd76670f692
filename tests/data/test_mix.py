import json

import pytest

from iftkit.config import validate
from iftkit.core.errors import IftkitError
from iftkit.data.mix import assert_disjoint, build_mix, load_manifest, plan
from iftkit.data.rows import Row, read_rows, write_rows

SMALL_GENERAL = ["topic", "arithmetic", "extract_date", "sort_items", "fact_qa"]


def recipe(**mix):
    data = mix.pop("data", {})
    m = {"total_size": 120, "val_size": 10, "test_size_per_task": 20, **mix}
    if "target_count" not in m and "target_ratio" not in m:
        m["target_ratio"] = 0.25
    return validate(
        {
            "data": {"target_task": "sentiment", "general_tasks": SMALL_GENERAL, "samples_per_task": 120, **data},
            "mix": m,
        }
    )


def contents(rows):
    return {r.content_hash() for r in rows}


def files_bytes(d):
    return {p.relative_to(d).as_posix(): p.read_bytes() for p in sorted(d.rglob("*.jsonl"))}


def test_same_recipe_and_seed_gives_byte_identical_files(tmp_path):
    a, b = build_mix(recipe(), tmp_path / "a"), build_mix(recipe(), tmp_path / "b")
    assert files_bytes(a) == files_bytes(b) and len(files_bytes(a)) == 2 + 1 + len(SMALL_GENERAL)
    assert (a / "manifest.json").read_bytes() == (b / "manifest.json").read_bytes()
    # a rebuild in place (forced) writes the same bytes again
    before = files_bytes(a)
    build_mix(recipe(), a, force=True)
    assert files_bytes(a) == before


def test_other_seed_gives_other_rows_same_counts_same_test_sets(tmp_path):
    a = build_mix(recipe(seed=0), tmp_path / "a")
    b = build_mix(recipe(seed=1), tmp_path / "b")
    ma, mb = load_manifest(a), load_manifest(b)
    assert ma["counts"] == mb["counts"]
    assert contents(read_rows(a / "train.jsonl")) != contents(read_rows(b / "train.jsonl"))
    assert ma["hashes"]["test"] == mb["hashes"]["test"], "test sets never depend on the mix seed"
    c = build_mix(recipe(seed=0, data={"seed": 5}, target_ratio=0.5), tmp_path / "c")
    assert load_manifest(c)["hashes"]["test"] == ma["hashes"]["test"], "nor on data.seed or the ratio"


def test_nested_across_counts_and_ratios():
    plans = {n: plan(recipe(target_count=n)) for n in (0, 10, 40, 100)}
    targets = {n: contents(r for r in p["train"] if r.meta["role"] == "target") for n, p in plans.items()}
    general = {n: contents(r for r in p["train"] if r.meta["role"] == "general") for n, p in plans.items()}
    assert [len(targets[n]) for n in (0, 10, 40, 100)] == [0, 10, 40, 100]
    assert targets[0] <= targets[10] <= targets[40] <= targets[100]
    assert general[0] == general[10] == general[100], "by count every mix keeps the whole general set"
    by_ratio = {r: plan(recipe(target_ratio=r)) for r in (0.1, 0.25, 0.5)}
    t = {r: contents(x for x in p["train"] if x.meta["role"] == "target") for r, p in by_ratio.items()}
    g = {r: contents(x for x in p["train"] if x.meta["role"] == "general") for r, p in by_ratio.items()}
    assert t[0.1] <= t[0.25] <= t[0.5] and g[0.5] <= g[0.25] <= g[0.1]
    assert all(len(p["train"]) == 120 for p in by_ratio.values())
    assert len(t[0.25]) == 30


def test_general_count_fixes_the_general_rows_every_count_shares():
    plans = {n: plan(recipe(target_count=n, general_count=40)) for n in (0, 4, 16)}
    general = {n: [r for r in p["train"] if r.meta["role"] == "general"] for n, p in plans.items()}
    assert [len(general[n]) for n in (0, 4, 16)] == [40, 40, 40]
    assert contents(general[0]) == contents(general[4]) == contents(general[16])
    per_task = {t: sum(r.task == t for r in general[0]) for t in SMALL_GENERAL}
    assert per_task == {t: 8 for t in SMALL_GENERAL}, "a prefix of the round-robin order stays balanced"
    assert [len(p["train"]) for p in plans.values()] == [40, 44, 56]


def test_test_sets_are_disjoint_from_train_and_val_by_hash_and_instance():
    p = plan(recipe(target_count=100))
    tests = p["test"]
    for split in ("train", "val"):
        for rows in tests.values():
            assert not contents(p[split]) & contents(rows)
            assert not {r.prompt_hash() for r in p[split]} & {r.prompt_hash() for r in rows}
            assert not {r.meta["key"] for r in p[split]} & {r.meta["key"] for r in rows}
    assert set(tests) == {"sentiment", *SMALL_GENERAL}
    assert all(len(rows) == 20 for rows in tests.values())


def test_attempted_leak_through_a_user_file_is_refused(tmp_path):
    mix_dir = build_mix(recipe(), tmp_path / "mix")
    test_rows = read_rows(mix_dir / "test" / "sentiment.jsonl")
    # a user "general" file that quietly contains two rows of the fixed sentiment test set
    leaky = tmp_path / "general.jsonl"
    with open(leaky, "w") as f:
        f.write(json.dumps({"instruction": "Say hi.", "output": "hi"}) + "\n")
        for r in test_rows[:2]:
            f.write(json.dumps({"prompt": r.prompt, "completion": r.completion}) + "\n")
    # mixed schemas in one file are an error of their own; keep this file in one schema
    leaky.write_text(
        "".join(
            json.dumps({"prompt": r.prompt, "completion": r.completion}) + "\n"
            for r in [Row([{"role": "user", "content": "Say hi."}], "hi", "x", "c")] + test_rows[:2]
        )
    )
    before = files_bytes(mix_dir)
    with pytest.raises(IftkitError, match=r"test-set leak: 2 .*'sentiment'.*general\.jsonl:2"):
        build_mix(recipe(data={"general_files": [str(leaky)]}), mix_dir)
    assert files_bytes(mix_dir) == before, "a refused build leaves the earlier mix untouched"


def test_assert_disjoint_refuses_a_rephrased_test_instance():
    from iftkit.data.tasks import get_task

    test = get_task("sentiment").generate(5, seed="t")
    same_instance = Row(
        [{"role": "user", "content": "other words"}],
        test[0].completion,
        "sentiment",
        "classify",
        meta={"key": test[0].meta["key"]},
    )
    with pytest.raises(IftkitError, match="test-set leak"):
        assert_disjoint([same_instance], {"sentiment": test})
    assert_disjoint(
        get_task("sentiment").generate(5, seed="u", exclude_keys={r.meta["key"] for r in test}), {"sentiment": test}
    )


def test_manifest_names_counts_hashes_seed_and_recipe(tmp_path):
    d = build_mix(recipe(target_count=10, seed=3), tmp_path / "m")
    m = load_manifest(d)
    for key in ("recipe_hash", "seed", "target_task", "target_ratio", "target_count", "counts", "hashes", "recipe"):
        assert key in m
    assert m["seed"] == 3 and m["target_count"] == 10 and m["target_ratio"] is None and m["mode"] == "count"
    assert m["counts"]["train"] == len(read_rows(d / "train.jsonl"))
    assert m["counts"]["train_by_role"]["target"] == 10
    assert m["counts"]["train_by_source"] == {"catalog": m["counts"]["train"]}
    assert set(m["hashes"]["test"]) == {"sentiment", *SMALL_GENERAL}
    assert m["recipe"]["mix"]["target_count"] == 10


def test_synthetic_target_format_rows_are_counted_apart(tmp_path):
    p = plan(recipe(target_count=20, synthetic_format_count=15))
    roles = [r.meta["role"] for r in p["train"]]
    assert roles.count("target") == 20 and roles.count("synthetic_format") == 15
    synth = [r for r in p["train"] if r.meta["role"] == "synthetic_format"]
    assert all(r.source == "synthetic-format" and r.task == "sentiment" for r in synth)
    real = [r for r in p["train"] if r.meta["role"] == "target"]
    assert not {r.meta["key"] for r in synth} & {r.meta["key"] for r in real}
    # from a teacher/user file instead of the catalog
    f = tmp_path / "fmt.jsonl"
    write_rows(
        f,
        [
            Row([{"role": "user", "content": f"Review {i}: fine product {i}."}], "positive", "t", "classify")
            for i in range(12)
        ],
    )
    p2 = plan(recipe(target_count=5, synthetic_format_count=12, data={"synthetic_format_files": [str(f)]}))
    assert sum(r.meta["role"] == "synthetic_format" for r in p2["train"]) == 12


def test_user_target_file_gets_a_fixed_held_out_test_set(tmp_path):
    f = tmp_path / "tickets.jsonl"
    f.write_text(
        "".join(
            json.dumps({"instruction": f"Route ticket {i}", "output": ["billing", "tech"][i % 2]}) + "\n"
            for i in range(80)
        )
    )
    user = {"target_task": "tickets", "target_files": [str(f)], "target_test_size": 20}
    r1 = recipe(target_count=30, data=user)
    r2 = recipe(target_count=50, seed=9, data=user)
    p1, p2 = plan(r1), plan(r2)
    assert contents(p1["test"]["tickets"]) == contents(p2["test"]["tickets"])
    assert len(p1["test"]["tickets"]) == 20
    assert all(r.task == "tickets" and r.source == "user:tickets.jsonl" for r in p1["test"]["tickets"])
    assert not contents(p2["train"]) & contents(p2["test"]["tickets"])


@pytest.mark.parametrize("n_rows,expected", [(80, 30), (400, 80), (3000, 500)])
def test_user_test_set_is_a_fifth_of_the_rows_within_bounds(tmp_path, n_rows, expected):
    f = tmp_path / "tickets.jsonl"
    f.write_text(
        "".join(
            json.dumps({"instruction": f"Route ticket {i}", "output": ["billing", "tech"][i % 2]}) + "\n"
            for i in range(n_rows)
        )
    )
    p = plan(recipe(target_count=10, data={"target_task": "tickets", "target_files": [str(f)]}))
    test = p["test"]["tickets"]
    assert len(test) == expected
    # every test row carries the checker's spec, so eval scores it as the build inferred
    assert {json.dumps(r.meta["task_spec"], sort_keys=True) for r in test} == {
        json.dumps(p["info"]["target_spec"], sort_keys=True)
    }
    assert p["info"]["target_spec"]["kind"] == "label" and p["info"]["target_spec"]["labels"] == ["billing", "tech"]


def _sentiment_file(tmp_path):
    f = tmp_path / "reviews.csv"
    f.write_text(
        "prompt,completion\n"
        + "".join(
            f'"Film {i} was {"a triumph" if i % 2 else "a bore"} from '
            f'start to end.",{"positive" if i % 2 else "negative"}\n'
            for i in range(120)
        )
    )
    return f


def test_a_catalog_family_that_teaches_the_user_task_leaves_the_general_pool(tmp_path):
    f = _sentiment_file(tmp_path)
    p = plan(
        recipe(target_ratio=0.0, data={"target_task": "reviews", "target_files": [str(f)], "general_tasks": "all"})
    )
    assert "sentiment" not in p["info"]["general_tasks"] and "sentiment" not in p["test"]
    assert p["info"]["excluded_general_tasks"] == ["sentiment"]
    assert "same labels" in p["info"]["catalog_overlap"]["sentiment"]
    assert not any(r.task == "sentiment" for r in p["train"])  # ratio 0 holds no target-like rows


def test_general_tasks_can_bring_an_overlapping_family_back(tmp_path):
    f = _sentiment_file(tmp_path)
    p = plan(
        recipe(
            target_ratio=0.0,
            data={"target_task": "reviews", "target_files": [str(f)], "general_tasks": ["sentiment", "topic"]},
        )
    )
    assert p["info"]["general_tasks"] == ["sentiment", "topic"] and p["info"]["excluded_general_tasks"] == []
    assert "sentiment" in p["info"]["catalog_overlap"]


def test_impossible_amounts_are_clear_errors():
    with pytest.raises(IftkitError, match="target pool of 'sentiment' has 120 rows"):
        plan(recipe(target_count=500))
    with pytest.raises(IftkitError, match="general pool has"):
        plan(recipe(target_ratio=0.0, total_size=5000))
    with pytest.raises(IftkitError, match="mix.general_count=5000 but the general pool has"):
        plan(recipe(target_count=4, general_count=5000))
    with pytest.raises(IftkitError, match="mix.general_count goes with mix.target_count"):
        recipe(target_ratio=0.5, general_count=10)
    with pytest.raises(IftkitError, match="not a catalog task"):
        plan(recipe(data={"target_task": "my_task"}))
    with pytest.raises(IftkitError, match="must not include the target"):
        plan(recipe(data={"general_tasks": ["sentiment", "topic"]}))


@pytest.mark.parametrize("target", ["ticket_json", "fact_qa", "headline", "list_items"])
def test_any_family_can_be_the_target(target):
    r = validate(
        {
            "data": {"target_task": target, "general_tasks": "all", "samples_per_task": 40},
            "mix": {"target_ratio": 0.5, "total_size": 60, "val_size": 6, "test_size_per_task": 10},
        }
    )
    p = plan(r)
    assert target not in p["info"]["general_tasks"] and len(p["info"]["general_tasks"]) == 19
    assert sum(x.task == target for x in p["train"]) == 30 and set(p["test"]) >= {target, "sentiment"}


def test_the_target_rows_are_read_from_the_data_section_alone(tmp_path):
    from iftkit.config.schema import DataConfig
    from iftkit.data.pools import target_rows

    d = DataConfig(target_task="reviews", target_files=[str(_sentiment_file(tmp_path))], target_test_size=30)
    t = target_rows(d)
    assert t.spec.kind == "label" and sorted(t.spec.labels) == ["negative", "positive"]
    assert (len(t.pool), len(t.test)) == (90, 30)
