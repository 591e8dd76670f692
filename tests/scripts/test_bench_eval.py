"""scripts/bench_eval.py on the tiny model: the hardware ratios come out of the same run as the table."""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import bench_eval  # noqa: E402


def test_generation_bench_prints_decode_vs_bandwidth_at_batch_1_and_prefill_vs_peak(tiny_model_dir, monkeypatch,
                                                                                    capsys):
    # the tiny model's numbers mean nothing: a fixed peak and bandwidth keep the test off 1 GB copies
    monkeypatch.setattr(bench_eval, "matmul_peak", lambda dtype, clock=None: 1e9)
    monkeypatch.setattr(bench_eval, "copy_bandwidth", lambda clock=None: 1e9)
    monkeypatch.setattr(bench_eval, "has_fast_bf16", lambda: False)
    bench_eval.bench_generation(str(tiny_model_dir), 4, 4, 6, "float32")
    out = capsys.readouterr().out
    ratios = {k: float(v) for k, v in re.findall(r"^(decode_vs_bandwidth|prefill_vs_peak): ([0-9.]+) \(", out, re.M)}
    assert set(ratios) == {"decode_vs_bandwidth", "prefill_vs_peak"}
    assert all(v > 0 for v in ratios.values())
    assert "batch 1 decode" in out


def test_prefill_flops_count_each_prompt_token_run_once_and_the_head_once_per_prompt():
    from iftkit.models.chat.greedy import DecodeStats
    from iftkit.models.chat.types import Completion

    got = [Completion("a", prompt_tokens=10), Completion("b", prompt_tokens=12)]
    # a 4-token prefix shared by both prompts ran once: 22 - 4 tokens went through the body
    assert bench_eval.prefill_flops(got, DecodeStats(shared_tokens=4), body=100, head=7) == 2 * (100 * 18 + 7 * 2)
