"""Versioned runs: an upgrade or an edit never loses a finished result nor reuses stale work."""

import json
import shutil

import pytest

from iftkit.config import identity as ids
from iftkit.config import load_recipe
from iftkit.core.errors import IftkitError
from iftkit.sweep.grid import expand, legacy_base_eval_hash
from iftkit.sweep.layout import SweepPaths, sweep_root
from iftkit.sweep.state import SweepState
from iftkit.testing.sweep_runs import CHEAP, run_sweep, sweep_recipe
from iftkit.training.card import read_card

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def finished(tmp_path_factory, tiny_model_dir):
    """A finished 2-cell sweep on the tiny model (copied by each test that changes it)."""
    where = tmp_path_factory.mktemp("finished")
    run_sweep(sweep_recipe(where, tiny_model_dir, **CHEAP), where)
    return where


def _copy(finished, tmp_path, model_dir):
    shutil.copytree(finished / "runs", tmp_path / "runs")
    return sweep_recipe(tmp_path, model_dir, **CHEAP), tmp_path / "runs" / "tiny-sweep"


def _snapshot(root):
    return {p.relative_to(root): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and "wandb" not in p.parts and p.suffix != ".lock"}


def test_collect_after_an_edit_names_what_changed_and_writes_nothing(finished, tmp_path, tiny_model_dir):
    recipe, root = _copy(finished, tmp_path, tiny_model_dir)
    before = _snapshot(root)
    rows = (root / "results.jsonl").read_text()

    proc = run_sweep(recipe, tmp_path, "--model.attn_implementation", "eager", "collect", check=False)
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert 'ratio=0.0-seed=0: training ran with other values: model.attn_implementation: "sdpa" (default) -> "eager"' \
        in out
    assert "nothing was written" in out and "Traceback" not in out
    assert _snapshot(root) == before

    status = run_sweep(recipe, tmp_path, "--model.attn_implementation", "eager", "status").stdout
    assert "0 of 2 cells done" in status and "done with other values (training: model.attn_implementation" in status

    forced = run_sweep(recipe, tmp_path, "--model.attn_implementation", "eager", "collect", "--force").stdout
    assert "--force: writing 0 rows over the" in forced
    assert (root / "results.jsonl").read_text() == ""
    assert rows  # the table held rows before


def test_collect_keeps_a_table_that_would_lose_rows(finished, tmp_path, tiny_model_dir):
    recipe, root = _copy(finished, tmp_path, tiny_model_dir)
    before = (root / "results.jsonl").read_bytes()
    # a grid with one cell fewer: the other cell's rows are in the table but no longer in the sweep
    proc = run_sweep(recipe, tmp_path, "--sweep.grid", "{mix.target_ratio: [0.0]}", "collect", check=False)
    assert proc.returncode != 0
    assert "rows but only" in proc.stderr and "nothing was written" in proc.stderr
    assert (root / "results.jsonl").read_bytes() == before


def _as_version_0_wrote_it(recipe_path, root):
    """Rename folders and rewrite state records as a sweep of version 0 (whole-dump hashes) left them."""
    recipe = load_recipe(recipe_path)
    paths = SweepPaths(root)
    for cell in expand(recipe):
        current = root / "cells" / cell.dirname
        for ev in current.glob(f"eval-{cell.eval_hash[:8]}*"):
            ev.rename(ev.with_name(ev.name.replace(cell.eval_hash[:8], cell.legacy_eval_hash[:8])))
        current.rename(root / "cells" / cell.legacy_dirname)
        rec = SweepState(root).get(cell.label)
        rec.update(train_hash=cell.legacy_train_hash, eval_hash=cell.legacy_eval_hash,
                   adapter=str(root / "cells" / cell.legacy_dirname / "adapter"))
        for key in ("train_identity", "eval_identity"):
            rec.pop(key)
        (root / "state" / f"{cell.label}.json").write_text(json.dumps(rec))
    base = paths.base_eval_dir(recipe)
    base.rename(base.with_name(f"eval-{legacy_base_eval_hash(recipe)[:8]}"))
    rec = SweepState(root).get("base")
    rec.update(eval_hash=legacy_base_eval_hash(recipe))
    rec.pop("eval_identity")
    (root / "state" / "base.json").write_text(json.dumps(rec))


def test_a_sweep_finished_by_version_0_is_reused_after_the_upgrade(finished, tmp_path, tiny_model_dir):
    recipe, root = _copy(finished, tmp_path, tiny_model_dir)
    _as_version_0_wrote_it(recipe, root)
    rows = (root / "results.jsonl").read_text()
    adapters = {p: p.stat().st_mtime_ns for p in root.glob("cells/*/adapter/adapter_model.safetensors")}

    status = run_sweep(recipe, tmp_path, "status").stdout
    assert "2 of 2 cells done" in status and "other values" not in status
    run_sweep(recipe, tmp_path, "collect")
    assert (root / "results.jsonl").read_text() == rows
    out = run_sweep(recipe, tmp_path).stdout
    assert out.count("done earlier, skipped") == 2 and "[base] evaluating" not in out
    assert {p: p.stat().st_mtime_ns for p in root.glob("cells/*/adapter/adapter_model.safetensors")} == adapters
    assert (root / "results.jsonl").read_text() == rows


def test_a_complete_adapter_is_reused_only_for_the_same_training_values(finished, tiny_model_dir):
    from iftkit.training.train_adapter import train_adapter

    recipe = load_recipe(finished / "sweep.yaml")
    cell = expand(recipe)[0]
    adapter = SweepPaths(sweep_root(recipe)).adapter_dir(cell)
    assert read_card(adapter)["train_hash"] == cell.train_hash
    assert train_adapter(cell.recipe, output_dir=str(adapter), say=lambda m: None)["train_hash"] == cell.train_hash

    other = cell.recipe.model_copy(deep=True)
    other.training.learning_rate = 1e-3
    with pytest.raises(IftkitError, match=r"training.learning_rate: 0.0002 \(default\) -> 0.001.*--overwrite"):
        train_adapter(other, output_dir=str(adapter), say=lambda m: None)
    assert ids.recipe_identity_hash(other, ids.TRAIN_SECTIONS) != cell.train_hash
