"""Every scorer, described by the module that implements it.

Each module in this package ends with `SCORERS = (ScorerInfo(...), ...)`: the scorer's name,
how to build it, the outputs it writes (a judge writes three), the recipe values it needs,
whether it needs a judge client, and the aliases it belongs to. The registry collects them, so
adding a scorer is adding one file here.
"""

import importlib
import pkgutil
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable

from iftkit.core.errors import IftkitError


@dataclass(frozen=True)
class ScorerInfo:
    name: str
    build: Callable  # build(**options) -> Scorer
    description: str
    outputs: tuple = ()  # output names written to records; () = just `name`
    # option name -> recipe -> value (None values are left out, so the scorer's default applies)
    options: dict = field(default_factory=dict)
    needs_judge: bool = False  # the runner passes a judge client as option `client`
    aliases: tuple = ()  # alias names that include this scorer ("lexical", "task"...)

    @property
    def output_names(self) -> tuple:
        return self.outputs or (self.name,)


# only the order scorers are listed in (`all`, help texts); a new module sorts after these
_LISTING_ORDER = ("task", "lexical", "embedding", "reward", "judge", "ifeval")


@lru_cache(maxsize=1)
def registry() -> dict:
    import iftkit.evaluation.scorers as pkg

    found = {}
    mods = sorted((m.name for m in pkgutil.iter_modules(pkg.__path__) if m.name not in ("base", "registry")),
                  key=lambda m: (_LISTING_ORDER.index(m) if m in _LISTING_ORDER else len(_LISTING_ORDER), m))
    for mod in mods:
        for info in getattr(importlib.import_module(f"{pkg.__name__}.{mod}"), "SCORERS", ()):
            if info.name in found:
                raise IftkitError(f"scorer {info.name!r} is declared twice (scorers/{mod}.py)")
            found[info.name] = info
    return found


def aliases() -> dict:
    out: dict = {}
    for info in registry().values():
        for a in info.aliases:
            out.setdefault(a, []).append(info.name)
    out["all"] = list(registry())
    return out


def info(name: str) -> ScorerInfo:
    reg = registry()
    if name not in reg:
        raise IftkitError(f"unknown scorer {name!r} (known: {', '.join(reg)})")
    return reg[name]


def parent_of(output: str) -> str:
    """The scorer that writes `output` (judge_ratio -> judge); the output itself when it is a scorer."""
    for i in registry().values():
        if output in i.output_names:
            return i.name
    return output


def judge_scorers() -> set:
    return {i.name for i in registry().values() if i.needs_judge}


def options_for(name: str, recipe) -> dict:
    opts = {k: f(recipe) for k, f in info(name).options.items()}
    return {k: v for k, v in opts.items() if v is not None}
