"""The path from run_eval to the decoder stays short: a reader following an answer from the eval entry to
the model's forward passes through at most MAX_FRAMES functions of iftkit's own (issue 36)."""

import inspect
from pathlib import Path

import pytest

import iftkit
from iftkit.config.loader import validate
from iftkit.evaluation.evaluate import run_eval

MAX_FRAMES = 8
PACKAGE = Path(iftkit.__file__).resolve().parent


def iftkit_frames_below(stack, top: str) -> list[str]:
    """The iftkit functions on `stack` (innermost first) from the caller of the hook up to `top`, outermost first."""
    names = []
    for frame in stack:
        try:
            Path(frame.filename).resolve().relative_to(PACKAGE)
        except ValueError:
            continue
        names.append(frame.function)
        if frame.function == top:
            return names[::-1]
    raise AssertionError(f"{top} is not on the stack: {names}")


@pytest.fixture
def forward_paths(monkeypatch):
    """Every model forward during the test records the iftkit frames from run_eval to it."""
    from transformers import PreTrainedModel

    paths = []
    loaded = PreTrainedModel.from_pretrained.__func__

    def hooked(cls, *args, **kwargs):
        model = loaded(cls, *args, **kwargs)
        model.register_forward_pre_hook(lambda *_: paths.append(iftkit_frames_below(inspect.stack(0), "run_eval")))
        return model

    monkeypatch.setattr(PreTrainedModel, "from_pretrained", classmethod(hooked))
    return paths


def test_run_eval_reaches_the_decoder_in_at_most_eight_iftkit_frames(forward_paths, tiny_model_dir, mix_dir, tmp_path):
    recipe = validate({
        "model": {"id": str(tiny_model_dir)},
        "data": {"target_task": "sentiment"},
        "tracking": {"mode": "disabled"},
        "eval": {"mix_dir": str(mix_dir), "suites": ["in_domain"], "scorers": ["exact_match"], "max_new_tokens": 4,
                 "cache_dir": str(tmp_path / "cache"), "bootstrap_samples": 0},
    })
    run_eval(recipe, [], tmp_path / "out", progress=False)
    decoding = [p for p in forward_paths if p[-1] in ("_decode", "_prefill", "prefix_kv")]
    assert decoding, f"no forward from the greedy decoder: {forward_paths}"
    longest = max(decoding, key=len)
    assert len(longest) <= MAX_FRAMES, " -> ".join(longest)
