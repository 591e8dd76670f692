"""Weights & Biases runs for iftkit: one run per adapter, reopened by eval to log into it.

Mode `auto` means online when W&B credentials exist (WANDB_API_KEY or an api.wandb.ai entry
in ~/.netrc) and offline otherwise: offline runs are real run folders that `wandb sync`
uploads later. The logged config never carries secrets: keys that look like credentials and
any value equal to a secret environment variable are replaced.
"""

import netrc
import os
import re
import time
from pathlib import Path
from typing import Any, Optional

from iftkit.config.schema import Recipe
from iftkit.core.paths import safe_name

# keys NAMED like a credential (api_key, hub_token, password...), not ones that merely contain the word (tokens_seen)
SECRET_KEY = re.compile(r"(^|[_-])(api[_-]?key|key|token|secret|password|passwd|credentials?)$", re.I)
SECRET_ENV = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL)", re.I)
REDACTED = "<redacted>"


def has_credentials() -> bool:
    if os.environ.get("WANDB_API_KEY"):
        return True
    try:
        path = os.environ.get("NETRC") or str(Path.home() / ".netrc")
        return netrc.netrc(path).authenticators("api.wandb.ai") is not None
    except (FileNotFoundError, netrc.NetrcParseError, OSError):
        return False


def resolve_mode(mode: str) -> str:
    """auto -> WANDB_MODE if the environment sets it, else online with credentials, offline without."""
    if mode != "auto":
        return mode
    env = os.environ.get("WANDB_MODE", "").lower()
    if env in ("online", "offline", "disabled"):
        return env
    if env == "dryrun":
        return "offline"
    return "online" if has_credentials() else "offline"


def scrub(value: Any, key: str = "") -> Any:
    """Copy of a config with credential-looking keys and secret env values redacted."""
    secrets = {v for k, v in os.environ.items() if SECRET_ENV.search(k) and len(v) >= 8}
    return _scrub(value, key, secrets)


def _scrub(value, key, secrets):
    # `*_env` keys hold the NAME of an environment variable, never its value
    if key and SECRET_KEY.search(key) and not key.endswith("_env") and value not in (None, ""):
        return REDACTED
    if isinstance(value, dict):
        return {k: _scrub(v, str(k), secrets) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_scrub(v, "", secrets) for v in value]
    if isinstance(value, str) and any(s in value for s in secrets):
        return REDACTED
    return value


def default_dir(recipe: Recipe) -> Optional[str]:
    return recipe.tracking.dir or os.environ.get("WANDB_DIR")


def _wait_for_a_new_run_folder(root: Optional[str], run_id: Optional[str]) -> None:
    """wandb names a run folder by its start second and run id: reopening a run within the
    second its last folder was written would reuse (and clobber) that folder, so wait."""
    if not run_id:
        return
    base = Path(root or ".") / "wandb"
    for folder in base.glob(f"*run-*-{run_id}"):
        age = time.time() - folder.stat().st_mtime
        if age < 1.5:
            time.sleep(1.5 - age)


def init_run(recipe: Recipe, name=None, job_type="train", run_id=None, resume=False, config=None, dir=None):
    """Start (or resume, with the same id) the W&B run; None when tracking is disabled."""
    mode = resolve_mode(recipe.tracking.mode)
    if mode == "disabled":
        return None
    import wandb

    run_dir = dir or default_dir(recipe)
    if run_dir:
        Path(run_dir).mkdir(parents=True, exist_ok=True)
    full_config = {"recipe": recipe.model_dump(mode="json")}
    if config:
        full_config.update(config)
    t = recipe.tracking
    _wait_for_a_new_run_folder(run_dir, run_id)
    return wandb.init(
        project=t.project,
        group=t.group,
        tags=list(t.tags) or None,
        name=name or t.name or recipe.name,
        job_type=job_type,
        id=run_id,
        resume="allow" if (resume or run_id) else None,
        mode=mode,
        dir=run_dir,
        config=scrub(full_config),
        settings=wandb.Settings(silent=True, console="off"),
    )


def run_info(run) -> Optional[dict]:
    """What the adapter card records so eval can reopen this run."""
    if run is None:
        return None
    return {
        "run_id": run.id,
        "project": run.project,
        "entity": getattr(run, "entity", None) or None,
        "mode": "offline" if run.offline else "online",
        "dir": str(Path(run.dir).parent.parent.parent) if run.dir else None,
        "name": run.name,
        "group": run.group or None,
    }


def resume_run(card_wandb: Optional[dict], job_type: str = "eval", mode: Optional[str] = None):
    """Reopen the adapter's run (same id, same dir) so later stages log into it; None if none."""
    if not card_wandb or not card_wandb.get("run_id"):
        return None
    mode = mode or card_wandb.get("mode") or "offline"
    if resolve_mode("auto") == "disabled" or mode == "disabled":
        return None
    import wandb

    _wait_for_a_new_run_folder(card_wandb.get("dir"), card_wandb["run_id"])
    return wandb.init(
        project=card_wandb.get("project"),
        entity=card_wandb.get("entity"),
        id=card_wandb["run_id"],
        resume="allow",
        mode=mode,
        dir=card_wandb.get("dir"),
        job_type=job_type,
        settings=wandb.Settings(silent=True, console="off"),
    )


def log_adapter_artifact(run, adapter_dir, name: str, metadata: dict, files: list[str]):
    """Log the adapter directory's files as a `lora-adapter` artifact with its provenance."""
    if run is None:
        return None
    import wandb

    art = wandb.Artifact(safe_name(name), type="lora-adapter", metadata=scrub(metadata))
    for rel in files:
        p = Path(adapter_dir) / rel
        if p.is_file():
            art.add_file(str(p), name=rel)
    run.log_artifact(art)
    return art
