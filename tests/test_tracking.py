"""W&B mode resolution, secret scrubbing, and reopening an adapter's run from its card."""

import glob

import pytest

from iftkit.config.schema import Recipe
from iftkit.tracking import REDACTED, init_run, resolve_mode, resume_run, run_info, scrub
from iftkit.training.wandb_offline import summarize, written_out


@pytest.fixture
def no_creds(monkeypatch, tmp_path):
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "netrc"))
    return tmp_path / "netrc"


def test_auto_mode_is_offline_without_credentials_online_with_them(no_creds, monkeypatch):
    assert resolve_mode("auto") == "offline"
    no_creds.write_text("machine api.wandb.ai\n  login user\n  password abcdef0123456789\n")
    no_creds.chmod(0o600)
    assert resolve_mode("auto") == "online"
    no_creds.unlink()
    monkeypatch.setenv("WANDB_API_KEY", "x" * 40)
    assert resolve_mode("auto") == "online"
    monkeypatch.setenv("WANDB_MODE", "disabled")
    assert resolve_mode("auto") == "disabled"
    assert resolve_mode("offline") == "offline"  # an explicit recipe mode wins


def test_scrub_removes_credentials_but_keeps_env_var_names(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-live-abcdefghijkl")
    cfg = {"judge": {"api_key_env": "OPENAI_API_KEY", "api_key": "sk-1", "base_url": "http://h/?key=sk-live-abcdefghijkl"},
           "hub_token": "hf_x", "tokens_seen": 12, "tags": ["a", "sk-live-abcdefghijkl"]}
    out = scrub(cfg)
    assert out["judge"]["api_key_env"] == "OPENAI_API_KEY"
    assert out["judge"]["api_key"] == REDACTED and out["judge"]["base_url"] == REDACTED
    assert out["hub_token"] == REDACTED and out["tokens_seen"] == 12 and out["tags"] == ["a", REDACTED]


def test_disabled_mode_starts_no_run():
    recipe = Recipe.model_validate({"tracking": {"mode": "disabled"}})
    assert init_run(recipe) is None
    assert resume_run(None) is None


def test_resume_run_reopens_the_same_offline_run(tmp_path, no_creds):
    recipe = Recipe.model_validate({"name": "t", "tracking": {"mode": "offline", "dir": str(tmp_path), "tags": ["x"]}})
    run = init_run(recipe)
    run.log({"train/loss": 1.0})
    info = run_info(run)
    run.finish()
    assert info["mode"] == "offline" and info["project"] == "iftkit" and info["dir"] == str(tmp_path)
    again = resume_run(info, job_type="eval")
    again.log({"eval/score": 0.5})
    assert again.id == info["run_id"]
    again.finish()
    written_out()
    # offline resumes write another folder for the same run id; `wandb sync` uploads both into one run
    files = glob.glob(str(tmp_path / "wandb" / f"offline-run-*-{info['run_id']}" / "*.wandb"))
    keys = {k for f in files for h in summarize(f)["history"] for k in h}
    assert {"train/loss", "eval/score"} <= keys
