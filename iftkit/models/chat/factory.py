"""The one way every caller gets a chat backend: the recipe's backend name, built from what the caller runs.

- eval generation: the model under test (base weights + adapter) on `eval.backend`;
- the judge: `eval.judge.backend`; `local` = a model on this machine, run by eval.backend's engine
  (a GPU machine's judge runs on vLLM too);
- the teacher: `data.synth.backend`; `local` = a model on this machine, run by transformers.
Any other value names a registered backend (registry.py) directly.
"""

import os

from iftkit.config.schema import ModelConfig, Recipe
from iftkit.core.errors import IftkitError
from iftkit.models.adapter_scale import AS_TRAINED
from iftkit.models.chat.backend import ChatBackend, LocalModel, Server
from iftkit.models.chat.registry import BackendInfo, backend_info, registry
from iftkit.models.resolve import resolve_model

LOCAL = "local"  # judge and teacher: a model on this machine
DEFAULT_LOCAL_ENGINE = "transformers"  # runs a `local` model when nothing else says which engine


def eval_backend(name: str, model: LocalModel) -> ChatBackend:
    """The backend generating a model under test's answers (eval.backend)."""
    info = backend_info(name, "eval.backend")
    _check_runs_local(info, "eval.backend")
    if model.adapter_scale != AS_TRAINED and not info.scales_adapters:
        able = ", ".join(n for n, i in registry().items() if i.scales_adapters)
        raise IftkitError(f"adapter_scale: the {name} backend cannot run a LoRA adapter at a fraction of its "
                          f"strength; use eval.backend: {able} for scaled adapters")
    return info.build(model)


def harness_engine(name: str) -> BackendInfo:
    """The backend whose lm-eval loader runs eval.lm_eval for eval.backend `name`: its own when it
    registers one, else transformers' (the harness's HF model, as for vLLM)."""
    info = backend_info(name, "eval.backend")
    return info if info.lm_eval is not None else backend_info(DEFAULT_LOCAL_ENGINE)


def judge_backend(recipe: Recipe) -> ChatBackend:
    """The backend the recipe's judge runs on (eval.judge)."""
    j = recipe.eval.judge
    info = judge_info(recipe)
    if info.runs == "server":
        if not j.base_url:
            raise IftkitError(f"eval.judge.base_url: required when eval.judge.backend = {j.backend} "
                              "(e.g. http://localhost:8000/v1)")
        return info.build(Server(j.base_url, j.model, j.api_key_env, j.max_concurrency, j.max_retries, j.timeout_s,
                                 j.backoff_s, j.max_consecutive_failures))
    model_id = recipe.model.id if j.model == "base" else j.model
    cfg = recipe.model.model_copy(update={"id": model_id, **({} if j.dtype == "model" else {"dtype": j.dtype})})
    return info.build(LocalModel(cfg, resolve_model(model_id), label="judge", batch_size=recipe.eval.batch_size))


def teacher_backend(synth_cfg, model_cfg=None) -> ChatBackend:
    """The backend writing synthetic data (data.synth; model 'base' = the recipe's base model)."""
    name = DEFAULT_LOCAL_ENGINE if synth_cfg.backend == LOCAL else synth_cfg.backend
    info = backend_info(name, "data.synth.backend")
    if info.runs == "server":
        base_url = synth_cfg.base_url or os.environ.get("OPENAI_BASE_URL")
        if not base_url:
            raise IftkitError("data.synth.base_url is not set (nor $OPENAI_BASE_URL): give the server's URL, "
                              "e.g. --data.synth.base_url http://127.0.0.1:8000/v1")
        if synth_cfg.model in ("", "base"):
            raise IftkitError("data.synth.model: name the model the server serves (e.g. --data.synth.model llama3)")
        # a teacher run is short and interactive: retry sooner than the judge's default
        return info.build(Server(base_url, synth_cfg.model, synth_cfg.api_key_env, synth_cfg.max_concurrency,
                                 synth_cfg.max_retries, synth_cfg.timeout_s, backoff_s=0.25))
    cfg = model_cfg or ModelConfig()
    if synth_cfg.model != "base":
        cfg = cfg.model_copy(update={"id": synth_cfg.model})
    return info.build(LocalModel(cfg, resolve_model(cfg.id, cfg.revision), label="teacher"))


def check_backends(recipe: Recipe) -> None:
    """Every backend the recipe's eval names exists and fits its role: fails before any work starts."""
    _check_runs_local(backend_info(recipe.eval.backend, "eval.backend"), "eval.backend")
    judge_info(recipe)


def judge_info(recipe: Recipe) -> BackendInfo:
    """The registered backend the judge runs on (`local` resolved to an engine)."""
    name = recipe.eval.judge.backend
    if name == LOCAL:
        engine = registry().get(recipe.eval.backend)
        name = recipe.eval.backend if engine is not None and engine.runs == "local" else DEFAULT_LOCAL_ENGINE
    return backend_info(name, "eval.judge.backend")


def _check_runs_local(info: BackendInfo, key: str) -> None:
    if info.runs != "local":
        local = ", ".join(n for n, i in registry().items() if i.runs == "local")
        raise IftkitError(f"{key}: {info.name} asks a served model, but eval runs the weights under test "
                          f"(base + adapter) itself; use one of {local}")
