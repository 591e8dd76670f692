"""Every scorer, described by the module that implements it.

Each module in this package ends with `SCORERS = (ScorerInfo(...), ...)`: the scorer's name,
how to build it, the outputs it writes (a judge writes three), the recipe values it needs,
whether it needs a judge client, the aliases it belongs to and the roles it plays. The registry
(core/registry.py) collects them, so adding a scorer is adding one file here, or one entry point in
group `iftkit.scorers` outside iftkit; the report, the learning-dynamics chart and meta-eval ask the
registry for a role (`playing`) and never name a scorer.
"""

from dataclasses import dataclass, field
from typing import Callable, Optional

from iftkit.core.errors import IftkitError
from iftkit.core.registry import Registry

# Roles: what other stages look for in a scorer. A scorer declares the roles it plays, each with a
# preference (lower first) for where several play one.
TASK_ANSWER = "task_answer"  # the task's checker, right answer in any format: the dynamics' task curve
STRICT_ANSWER = "strict_answer"  # the task's checker, right answer in the exact expected format
EXACT_FORMAT = "exact_format"  # the answer has the task's exact expected format, right or wrong
TASK_CHECKER = "task_checker"  # reads the task's own checker: no values on tasks that have none
ITEMS = "items"  # figures over answers that are lists of items (the report's items table)
REFERENCE_BASED = "reference_based"  # compares with the reference answer: the report's fallback primary scorer
PAIRWISE_JUDGE = "pairwise_judge"  # judges two answers to one prompt: what the judge trust gate measures


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
    roles: dict = field(default_factory=dict)  # role -> preference (lower first), e.g. {REFERENCE_BASED: 2}
    requested_by: Optional[Callable] = None  # recipe -> True: scored even when eval.scorers leaves it out

    @property
    def output_names(self) -> tuple:
        return self.outputs or (self.name,)


# only the order scorers are listed in (`all`, help texts); a new module sorts after these
_LISTING_ORDER = ("task", "lexical", "embedding", "reward", "judge", "ifeval", "ifbench")


SCORER_REGISTRY = Registry("scorer", "iftkit.evaluation.scorers", "SCORERS", "iftkit.scorers", ScorerInfo,
                           first=_LISTING_ORDER)


def registry() -> dict:
    return SCORER_REGISTRY.all()


def register(scorer: ScorerInfo) -> None:
    SCORER_REGISTRY.register(scorer)


def unregister(name: str) -> None:
    SCORER_REGISTRY.unregister(name)


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


def is_judge(output: str) -> bool:
    """Whether `output` comes from a scorer that asks an LLM judge (each value costs model calls)."""
    return parent_of(output) in judge_scorers()


def playing(role: str) -> list[str]:
    """The scorers that play `role`, preferred first (ties: listing order)."""
    found = [(i.roles[role], k, i.name) for k, i in enumerate(registry().values()) if role in i.roles]
    return [name for *_, name in sorted(found)]


def plays(output: str, role: str) -> bool:
    """Whether the scorer writing `output` plays `role` (an unknown name plays none)."""
    found = registry().get(parent_of(output))
    return found is not None and role in found.roles


def requested_by(recipe) -> list[str]:
    """Scorers a recipe switch asks for on top of eval.scorers (eval.judge.pairwise...)."""
    return [i.name for i in registry().values() if i.requested_by is not None and i.requested_by(recipe)]


def options_for(name: str, recipe) -> dict:
    opts = {k: f(recipe) for k, f in info(name).options.items()}
    return {k: v for k, v in opts.items() if v is not None}
