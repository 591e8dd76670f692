"""Cells of one sweep run at once, as SLURM array tasks or W&B agents do on a cluster.

Each process runs real training and evaluation on the tiny model against one shared sweep
folder and one shared cache; afterwards every cell must be done, the base model evaluated
once, the results complete without duplicates, and a rerun must find nothing to do.
"""

import subprocess
import threading

import pytest
import yaml

from iftkit.testing.sweep_runs import (
    BASE_EVAL_LINE,
    CHEAP,
    ROOT,
    assert_complete,
    env,
    run_sweep,
    sweep_command,
    sweep_recipe,
    wandb_agent_command,
)


class Running:
    """A started process whose output is read as it comes (so a test can act on one line)."""

    def __init__(self, cmd, environ):
        self.proc = subprocess.Popen(
            cmd, env=environ, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self.lines: list[str] = []
        self.seen = threading.Event()
        self.marker = None
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line)
            if self.marker and self.marker in line:
                self.seen.set()
        self.seen.set()  # the process ended: nobody waits forever

    def finish(self) -> str:
        self.proc.wait()
        self.reader.join()
        return "".join(self.lines)


def run_together(cmds, environ) -> list[str]:
    procs = [Running(cmd, environ) for cmd in cmds]
    outs = [p.finish() for p in procs]
    for p, out in zip(procs, outs):
        assert p.proc.returncode == 0, out[-3000:]
    return outs


def assert_nothing_to_do(out, n_cells):
    assert out.count("done earlier, skipped") == n_cells, out
    assert BASE_EVAL_LINE not in out and "trained in" not in out and "generations:" not in out, out


@pytest.mark.slow
def test_four_array_tasks_at_once_one_killed_mid_training(tmp_path, tiny_model_dir):
    recipe = sweep_recipe(tmp_path, tiny_model_dir, grid="[0.0, 1.0]", seeds="[0, 1]", **CHEAP)
    root = tmp_path / "runs" / "tiny-sweep"
    labels = ["ratio=0.0-seed=0", "ratio=0.0-seed=1", "ratio=1.0-seed=0", "ratio=1.0-seed=1"]
    environ = env(tmp_path)
    procs = [Running(sweep_command(recipe, "--cell", label), environ) for label in labels]
    victim = procs[-1]
    victim.marker = f"[{labels[-1]}] training tiny-sweep"
    victim.seen.wait()
    victim.proc.kill()  # kill -9 while the cell is training
    killed_out = victim.finish()
    assert victim.proc.returncode == -9, killed_out[-3000:]
    outputs = [p.finish() for p in procs[:-1]]
    for p, out in zip(procs, outputs):
        assert p.proc.returncode == 0, out[-3000:]
    status = run_sweep(recipe, tmp_path, "status").stdout  # what a user watching the array sees
    assert f"{labels[-1]}  stopped while training" in status and "3 of 4 cells done" in status, status

    rerun = run_sweep(recipe, tmp_path, "--cell", labels[-1]).stdout  # the resubmitted task
    run_sweep(recipe, tmp_path, "collect")
    assert_complete(root, labels, [*outputs, killed_out, rerun])
    # the whole array once more: every task finds its cell done
    again = run_together([sweep_command(recipe, "--cell", label) for label in labels], environ)
    assert_nothing_to_do("".join(again), len(labels))


@pytest.mark.slow
def test_two_wandb_agents_side_by_side(tmp_path, tiny_model_dir):
    recipe = sweep_recipe(tmp_path, tiny_model_dir, grid="[0.0, 1.0]", seeds="[0]", **CHEAP)
    root = tmp_path / "runs" / "tiny-sweep"
    run_sweep(recipe, tmp_path, "--emit", "wandb")
    config = yaml.safe_load((root / "wandb_sweep.yaml").read_text())
    agents = [wandb_agent_command(config, i) for i in range(2)]
    # agents on several machines share a cache on a network filesystem: use that layout here
    environ = env(tmp_path, IFTKIT_CACHE_SHARED="1")
    outputs = run_together(agents, environ)
    assert sorted("1 of 2 cells" in out for out in outputs) == [True, True]
    cache = tmp_path / "cache" / "eval"
    assert list(cache.glob("generations.entries/*/*.json")) and not list(cache.glob("*.sqlite"))
    run_sweep(recipe, tmp_path, "collect")
    assert_complete(root, ["ratio=0.0-seed=0", "ratio=1.0-seed=0"], outputs)
    assert_nothing_to_do("".join(run_together(agents, environ)), 2)
