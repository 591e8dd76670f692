"""Every chat backend, described by the module that implements it.

A backend module in this package ends with `BACKENDS = (BackendInfo(...),)`: the name recipes use
(eval.backend, eval.judge.backend, data.synth.backend), how to build it and what it is built from
(a local model or a server). The registry (core/registry.py) collects them, so adding a backend is
adding one file here, or one entry point in group `iftkit.backends` outside iftkit; a test or a
notebook calls `register`.
"""

from dataclasses import dataclass
from typing import Callable, Literal, Optional

from iftkit.core.errors import IftkitError
from iftkit.core.registry import Registry


@dataclass(frozen=True)
class BackendInfo:
    name: str
    build: Callable  # build(LocalModel or Server, per `runs`) -> ChatBackend
    description: str
    runs: Literal["local", "server"] = "local"  # weights on this machine, or a model someone serves
    scales_adapters: bool = False  # runs an adapter at a fraction of its strength (adapter_scale != 1)
    # lm_eval(LocalModel) -> an lm-evaluation-harness model over the same weights (`.model` = the torch module,
    # for adapter scaling), for eval.lm_eval; None: the harness runs the weights through transformers' loader
    lm_eval: Optional[Callable] = None


BACKEND_REGISTRY = Registry("chat backend", "iftkit.models.chat", "BACKENDS", "iftkit.backends", BackendInfo)


def registry() -> dict:
    return BACKEND_REGISTRY.all()


def register(info: BackendInfo) -> None:
    BACKEND_REGISTRY.register(info)


def unregister(name: str) -> None:
    BACKEND_REGISTRY.unregister(name)


def backend_info(name: str, key: str = "backend") -> BackendInfo:
    """The registered backend `name`; `key` names the recipe key it came from in the error."""
    reg = registry()
    if name not in reg:
        raise IftkitError(f"{key}: unknown chat backend {name!r} (known: {', '.join(sorted(reg))})")
    return reg[name]
