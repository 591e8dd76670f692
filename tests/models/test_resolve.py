import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from iftkit.core.errors import IftkitError
from iftkit.models import resolve
from iftkit.models.resolve import convert_gguf, hub_reachable, resolve_model


def test_local_directory_is_used_as_is(tiny_model_dir):
    assert resolve_model(str(tiny_model_dir)) == str(tiny_model_dir)


def test_directory_without_config_is_refused(tmp_path):
    with pytest.raises(IftkitError, match="has no config.json"):
        resolve_model(str(tmp_path))


@pytest.mark.parametrize("bad", ["./missing-model", "/nope/model.gguf", "/nope/dir"])
def test_missing_paths_are_named(bad):
    with pytest.raises(IftkitError, match="model.id: .*not found"):
        resolve_model(bad)


def test_offline_hub_is_decided_fast_and_unknown_id_says_how_to_fix(monkeypatch, isolated_cache):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    start = time.monotonic()
    assert hub_reachable() is False
    with pytest.raises(IftkitError, match=r"--model.id /path/to/model_dir"):
        resolve_model("some-org/some-model-that-is-not-cached")
    assert time.monotonic() - start < 10


def test_unreachable_hub_without_env_flag_times_out_quickly(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "https://10.255.255.1")  # unroutable: connect hangs
    start = time.monotonic()
    assert hub_reachable(timeout=1.0) is False
    assert time.monotonic() - start < 5


def _fake_gguf(tmp_path):
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF fake weights")
    return gguf


def test_interrupted_conversion_leaves_nothing_that_loads(tmp_path, isolated_cache, monkeypatch, tiny_model_dir):
    gguf = _fake_gguf(tmp_path)

    def crash(src, out):
        (out / "config.json").write_text("{}")  # half-written
        raise KeyboardInterrupt

    monkeypatch.setattr(resolve, "_write_plain_checkpoint", crash)
    with pytest.raises(KeyboardInterrupt):
        convert_gguf(gguf)
    target = resolve.converted_dir_for(gguf)
    assert not target.exists()

    def good(src, out):
        import shutil

        for f in Path(tiny_model_dir).iterdir():
            shutil.copy(f, out / f.name)

    monkeypatch.setattr(resolve, "_write_plain_checkpoint", good)
    assert convert_gguf(gguf) == target
    assert (target / "config.json").is_file()
    assert not list(target.parent.glob(target.name + ".tmp-*"))


def test_conversion_runs_once(tmp_path, isolated_cache, monkeypatch, tiny_model_dir):
    gguf = _fake_gguf(tmp_path)
    calls = []
    monkeypatch.setattr(resolve, "_write_plain_checkpoint", lambda s, o: calls.append(o))
    first = convert_gguf(gguf)
    second = convert_gguf(gguf)
    assert first == second and len(calls) == 1


CONVERT = "from iftkit.models.resolve import default_model_dir; print(default_model_dir())"


@pytest.mark.integration
def test_killed_then_concurrent_conversion_of_real_default_model(tmp_path):
    env = {**os.environ, "IFTKIT_CACHE": str(tmp_path / "cache"), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen([sys.executable, "-c", CONVERT], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    models = tmp_path / "cache" / "models"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not list(models.glob("*.tmp-*")):
        time.sleep(0.2)
    time.sleep(3)
    proc.kill()  # kill -9 in the middle of the conversion
    proc.wait()
    assert not [p for p in models.iterdir() if p.is_dir() and ".tmp-" not in p.name]

    # two processes start at once: one converts, the other waits on the lock
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CONVERT], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=600)[0].strip() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert outs[0] == outs[1]

    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(outs[0])
    tok = AutoTokenizer.from_pretrained(outs[0])
    assert model.config.model_type == "llama" and getattr(model.config, "quantization_config", None) is None
    assert tok.chat_template and tok.eos_token == "<|im_end|>"
    assert not list(models.glob("*.tmp-*"))
