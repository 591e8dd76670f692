"""Every chat backend, described by the module that implements it.

A backend module in this package ends with `BACKENDS = (BackendInfo(...),)`: the name recipes use
(eval.backend, eval.judge.backend, data.synth.backend), how to build it and what it is built from
(a local model or a server). The registry collects them, so adding a backend is adding one file
here. Code outside the package (a plugin, a test) calls `register`.
"""

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Literal, Optional

import iftkit.models.chat
from iftkit.core.declared import collect
from iftkit.core.errors import IftkitError


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


_REGISTERED: dict = {}  # from outside the package, by `register`


@lru_cache(maxsize=1)
def _discovered() -> dict:
    return collect(iftkit.models.chat, "BACKENDS", "chat backend")


def registry() -> dict:
    return {**_discovered(), **_REGISTERED}


def register(info: BackendInfo) -> None:
    if info.name in registry():
        raise IftkitError(f"chat backend {info.name!r} is already registered")
    _REGISTERED[info.name] = info


def unregister(name: str) -> None:
    _REGISTERED.pop(name, None)


def backend_info(name: str, key: str = "backend") -> BackendInfo:
    """The registered backend `name`; `key` names the recipe key it came from in the error."""
    reg = registry()
    if name not in reg:
        raise IftkitError(f"{key}: unknown chat backend {name!r} (known: {', '.join(sorted(reg))})")
    return reg[name]
