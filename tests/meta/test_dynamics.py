import json

import numpy as np
import pytest
from PIL import Image

from iftkit.core.errors import IftkitError
from iftkit.meta.dynamics import boundaries, describe, load_points, points_from_rows, saturation_n
from iftkit.meta.dynamics_chart import plot_dynamics

NS = [0, 10, 20, 50, 100, 200, 500, 1000]


def _table(sources=("real",)):
    rows = []
    for n in NS:
        for seed in (1, 2):
            for src in sources:
                fmt = 1 - np.exp(-n / (6 if src == "synthetic" else 15))
                task = 0.3 + 0.6 * (1 - np.exp(-n / 120))
                rows.append(
                    {"n": n, "seed": seed, "task": "sentiment", "scorer": "task_strict", "mean": fmt, "source": src}
                )
                rows.append(
                    {"n": n, "seed": seed, "task": "sentiment", "scorer": "task_tolerant", "mean": task, "source": src}
                )
    return rows


def test_saturation_is_the_first_n_covering_90_percent_of_the_rise():
    assert saturation_n(np.array(NS), np.array([0, 0.5, 0.8, 0.95, 1, 1, 1, 1.0])) == 50
    assert saturation_n(np.array(NS), np.full(8, 0.4)) is None


def test_biphasic_boundaries_per_source_and_chart(tmp_path):
    points = points_from_rows(_table(("real", "synthetic")))
    b = boundaries(points)
    assert b["real"]["format_saturates_at"] == 50 and b["real"]["task_plateaus_at"] == 500
    assert b["synthetic"]["format_saturates_at"] == 20
    assert b["real"]["biphasic"] and b["synthetic"]["biphasic"]
    lines = describe(b)
    assert any("format saturates at n=20" in line and "synthetic" in line for line in lines)
    assert (
        lines[-1] == "real vs synthetic: synthetic target data needs fewer samples to learn the format (n=20 vs n=50)"
    )
    png = plot_dynamics(points, b, tmp_path / "dyn.png")
    with Image.open(png) as im:
        assert im.format == "PNG" and im.size[0] >= 800


def test_results_rows_use_model_labels_and_adapter_cards(tmp_path):
    card_dir = tmp_path / "adapters" / "cell7"
    card_dir.mkdir(parents=True)
    (card_dir / "adapter_card.json").write_text(json.dumps({"target_count": 200, "seed": 3, "recipe": {"data": {}}}))
    rows = [
        {
            "model": "base",
            "adapter_path": None,
            "suite": "in_domain",
            "task": "sentiment",
            "scorer": "task_strict",
            "mean": 0.0,
        },
        {
            "model": "base",
            "adapter_path": None,
            "suite": "in_domain",
            "task": "sentiment",
            "scorer": "task_tolerant",
            "mean": 0.4,
        },
        {
            "model": "sentiment-n20-seed1",
            "adapter_path": None,
            "suite": "in_domain",
            "task": "sentiment",
            "scorer": "task_strict",
            "mean": 0.9,
        },
        {
            "model": "sentiment-n20-seed1",
            "adapter_path": None,
            "suite": "general",
            "task": "qa",
            "scorer": "task_strict",
            "mean": 0.1,
        },
        {
            "model": "cell7",
            "adapter_path": str(card_dir),
            "suite": "in_domain",
            "task": "sentiment",
            "scorer": "task_tolerant",
            "mean": 0.8,
        },
        {
            "model": "cell7",
            "adapter_path": str(card_dir),
            "suite": "in_domain",
            "task": "__all__",
            "scorer": "task_tolerant",
            "mean": 0.1,
        },
    ]
    f = tmp_path / "sweep" / "results.jsonl"
    f.parent.mkdir()
    f.write_text("".join(json.dumps(r) + "\n" for r in rows))
    got = sorted((p.n, p.seed, p.metric, p.value) for p in load_points(tmp_path / "sweep"))
    assert got == [(0, 0, "format", 0.0), (0, 0, "task", 0.4), (20, 1, "format", 0.9), (200, 3, "task", 0.8)]


def test_table_without_needed_columns_is_a_clear_error(tmp_path):
    f = tmp_path / "t.csv"
    f.write_text("n,seed,task,mean\n10,1,sentiment,0.5\n")
    with pytest.raises(IftkitError, match="row 1 lacks 'scorer'"):
        load_points(f)
    f.write_text("n,seed,task,scorer,mean\nten,1,sentiment,task_strict,0.5\n")
    with pytest.raises(IftkitError, match="row 1: n and seed must be integers"):
        load_points(f)


def test_a_zero_sample_adapter_replaces_the_base_model_at_n0():
    from iftkit.meta.dynamics import Point, curves

    pts = [Point(0, 0, "base", "format", 0.0), Point(0, 1, "real", "format", 0.4), Point(10, 1, "real", "format", 0.9)]
    ns, ys, _ = curves(pts)[("real", "format")]
    assert list(ns) == [0, 10] and list(ys) == [0.4, 0.9]
    ns, ys, _ = curves(pts[:1] + pts[2:])[("real", "format")]
    assert list(ys) == [0.0, 0.9]


def test_ratio_sweeps_take_n_from_the_mix_counts_and_one_n_is_refused(tmp_path):
    rows = [
        {
            "model": "base",
            "adapter_path": None,
            "suite": "in_domain",
            "task": "sentiment",
            "scorer": "task_tolerant",
            "mean": 0.2,
        }
    ]
    for ratio, target in ((0.1, 24), (0.5, 120)):
        d = tmp_path / f"ratio={ratio}" / "adapter"
        d.mkdir(parents=True)
        card = {
            "target_count": None,
            "seed": 0,
            "data": {"counts": {"train_by_role": {"general": 240 - target, "target": target}}},
        }
        (d / "adapter_card.json").write_text(json.dumps(card))
        rows.append(
            {
                "model": "adapter",
                "adapter_path": str(d),
                "suite": "in_domain",
                "task": "sentiment",
                "scorer": "task_tolerant",
                "mean": ratio,
            }
        )
    assert sorted(p.n for p in points_from_rows(rows)) == [0, 24, 120]
    with pytest.raises(IftkitError, match="two or more values of n"):
        points_from_rows(rows[:1])


def test_dynamics_tables_read_through_the_reader_layer(tmp_path):
    rows = ("n,seed,task,scorer,mean\r\n0,1,t,task_strict,0.1\r\n0,1,t,task_tolerant,0.2\r\n"
            "50,1,t,task_strict,0.9\r\n50,1,t,task_tolerant,0.5\r\n")
    for name, data in [("bom.csv", b"\xef\xbb\xbf" + rows.encode()), ("t.tsv", rows.replace(",", "\t").encode())]:
        (tmp_path / name).write_bytes(data)
        points = load_points(tmp_path / name)
        assert sorted((p.n, p.metric, p.value) for p in points) == [
            (0, "format", 0.1),
            (0, "task", 0.2),
            (50, "format", 0.9),
            (50, "task", 0.5),
        ]
    (tmp_path / "bin.jsonl").write_bytes(b"\x00\xff" * 40)
    with pytest.raises(IftkitError, match=r"bin.jsonl: not a text file"):
        load_points(tmp_path / "bin.jsonl")
    (tmp_path / "list.json").write_text("[1, 2]")
    with pytest.raises(IftkitError, match=r"list.json:1: expected a table row \(an object\), got int"):
        load_points(tmp_path / "list.json")
