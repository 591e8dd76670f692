"""Where one evaluation's time goes: data, load, prefill, decode, LM head, each scorer, the judge.

profile_eval() runs run_eval once on fresh caches (nothing is served from an earlier run), with
timing attached from outside the library for the length of the run, so an ordinary eval pays
nothing for it:

- every model a transformers backend loads gets forward hooks on its causal LM and on its LM head.
  A forward pass over one token per row is "decode" (every weight read once per token: bound by
  memory bandwidth), a longer one "prefill" (bound by matmul throughput); the LM head's own time
  is taken out of both, since its vocabulary-sized matmul is a cost of its own;
- run_eval's suites, scoring step (per scorer), likelihood passes and lm-eval harness run are
  wrapped. A model another engine runs (vLLM, a served judge, the harness's) is one phase, not split.

Time is exclusive: every clock interval is charged to the innermost phase open at that moment, so
the phases add up to the measured total, and what no phase covers (tokenising, caches, writing
results) reads "other". Forward passes inside a judge's scoring read "judge prefill", "judge
load"..., inside the forgetting suite's likelihood passes "likelihood prefill"...: the judge's own
model, often the base model again, is not mixed up with the models under test.
"""

import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional
from unittest import mock

from iftkit.config.schema import Recipe
from iftkit.core.errors import IftkitError
from iftkit.evaluation.generator import CachedGenerator
from iftkit.models.chat.local import TransformersChat

OTHER = "other"
# the models under test's phases, listed first in this order; the rest follow in order of first use
MAIN_PHASES = ("data", "load", "prefill", "decode", "lm head")


@dataclass
class Phase:
    seconds: float = 0.0
    calls: int = 0
    tokens: int = 0  # forward passes only: token positions run (rows x width, padding included)


@dataclass
class Profile:
    """Exclusive time per phase, from one clock (process CPU time by default, as scripts/bench_eval.py)."""

    clock: Callable[[], float] = time.process_time
    phases: dict = field(default_factory=dict)  # name -> Phase, in order of first use
    chats: list = field(default_factory=list)  # every transformers backend that loaded a model
    hooks: list = field(default_factory=list)  # handles of the forward hooks attach() put on
    _stack: list = field(default_factory=list)  # (phase name, scope) from the outermost
    _last: Optional[float] = None

    def start(self) -> None:
        self._stack, self._last = [(OTHER, "")], self.clock()

    def stop(self) -> None:
        self._charge()
        self._stack = []

    @property
    def total(self) -> float:
        return sum(p.seconds for p in self.phases.values())

    def _charge(self) -> None:
        now = self.clock()
        self.phases.setdefault(self._stack[-1][0], Phase()).seconds += now - self._last
        self._last = now

    def enter(self, name: str, scope: Optional[str] = None, tokens: int = 0) -> None:
        """Open a phase; `scope` names what forward passes inside it belong to (inherited when None)."""
        self._charge()
        ph = self.phases.setdefault(name, Phase())
        ph.calls += 1
        ph.tokens += tokens
        self._stack.append((name, self._stack[-1][1] if scope is None else scope))

    def leave(self) -> None:
        self._charge()
        self._stack.pop()

    @contextmanager
    def phase(self, name: str, scope: Optional[str] = None):
        self.enter(name, scope)
        try:
            yield
        finally:
            self.leave()

    def scoped(self, kind: str) -> str:
        """`kind` (load, prefill, decode, lm head) named after the scope it runs in."""
        scope = self._stack[-1][1] if self._stack else ""
        return f"{scope} {kind}" if scope else kind

    def attach(self, model) -> None:
        """Forward hooks on the causal LM under `model` (a PEFT wrapper's base model: model.generate
        calls it directly) and on its LM head, until detach()."""
        inner = model.get_base_model() if hasattr(model, "get_base_model") else model
        # a GPU runs kernels after the call that queued them returns: wait for them at every phase edge
        sync = _cuda_sync if next(inner.parameters()).is_cuda else (lambda: None)

        def forward_in(_module, args, kwargs):
            ids = kwargs.get("input_ids", args[0] if args else None)
            if ids is None:
                ids = kwargs["inputs_embeds"]
            sync()
            self.enter(self.scoped("decode" if ids.shape[1] == 1 else "prefill"), tokens=ids.shape[0] * ids.shape[1])

        def head_in(*_):
            sync()
            self.enter(self.scoped("lm head"))

        def out(*_):
            sync()
            self.leave()

        self.hooks += [inner.register_forward_pre_hook(forward_in, with_kwargs=True),
                       inner.register_forward_hook(out, always_call=True)]
        head = inner.get_output_embeddings()
        if head is not None:
            self.hooks += [head.register_forward_pre_hook(head_in), head.register_forward_hook(out, always_call=True)]

    def detach(self) -> None:
        for h in self.hooks:
            h.remove()
        self.hooks = []

    def decode_steps(self) -> int:
        """Decode steps iftkit's own loop counted (greedy.DecodeStats) over every loaded backend."""
        return sum(c.stats.decode_steps for c in self.chats)

    def lines(self) -> list[str]:
        """One line per phase (other last): seconds, share of the total, calls, tokens/s of forward passes."""
        total = self.total or 1.0
        names = [n for n in MAIN_PHASES if n in self.phases]
        names += [n for n in self.phases if n not in names and n != OTHER] + ([OTHER] if OTHER in self.phases else [])
        out = [f"{'phase':<26} {'seconds':>9} {'share':>7} {'calls':>7}  tokens"]
        for n in names:
            p = self.phases[n]
            rate = f"{p.tokens} ({p.tokens / p.seconds:.0f} tok/s)" if p.tokens and p.seconds > 0 else (
                str(p.tokens) if p.tokens else "")
            out.append(f"{n:<26} {p.seconds:>9.2f} {p.seconds / total:>7.1%} {p.calls:>7}  {rate}".rstrip())
        out.append(f"{'total':<26} {self.total:>9.2f} {1:>7.1%}")
        return out


def profile_eval(recipe: Recipe, adapters: list[str], work_dir, prompts: Optional[int] = None,
                 include_base: bool = True, clock: Callable[[], float] = time.process_time):
    """(Profile, EvalResult) of one run_eval into `work_dir` (empty: caches and results go there, so
    nothing comes from an earlier run); `prompts` caps every suite at that many rows (spread over it)."""
    from iftkit.evaluation import evaluate as ev_mod

    work_dir = Path(work_dir)
    if work_dir.exists() and any(work_dir.iterdir()):
        raise IftkitError(f"{work_dir}: the profile's work dir must be empty (its caches would serve answers)")
    if prompts is not None and prompts < 1:
        raise IftkitError(f"--prompts: expected a positive number of rows per suite, got {prompts}")
    recipe = recipe.model_copy(update={"eval": recipe.eval.model_copy(update={"cache_dir": str(work_dir / "cache")})})
    prof = Profile(clock)
    with ExitStack() as stack:
        for target, name, wrapper in _wrappers(prof, prompts):
            stack.enter_context(mock.patch.object(target, name, wrapper(getattr(target, name))))
        stack.enter_context(mock.patch.object(ev_mod, "_log_to_wandb", lambda *a, **k: None))  # not the adapters' runs
        stack.callback(prof.detach)
        prof.start()
        try:
            report = ev_mod.run_eval(recipe, adapters, work_dir / "out", include_base, progress=False)
        finally:
            prof.stop()
    return prof, report


def _wrappers(prof: Profile, prompts: Optional[int]) -> list:
    """(object, attribute, wrapper factory) for each library call the profile times."""
    from iftkit.evaluation import evaluate as ev_mod
    from iftkit.evaluation.scorers import judge_scorers

    def timed(name, scope=None):
        def wrap(fn):
            def run(*a, **k):
                with prof.phase(name, scope):
                    return fn(*a, **k)

            return run

        return wrap

    def suites(fn):
        def run(*a, **k):
            with prof.phase("data"):
                got = fn(*a, **k)
            return {s: _spread(rows, prompts) for s, rows in got.items()}

        return run

    def scoring(fn):
        def run(name, *a, **k):
            with prof.phase(f"score {name}", "judge" if name in judge_scorers() else None):
                return fn(name, *a, **k)

        return run

    def load(fn):
        def run(chat):
            if chat._model is not None:
                return fn(chat)
            with prof.phase(prof.scoped("load")):
                got = fn(chat)
            prof.chats.append(chat)
            prof.attach(got[0])
            return got

        return run

    return [(ev_mod, "build_suites", suites), (ev_mod, "resolve_mix_dir", timed("data")),
            (ev_mod, "score_records", scoring), (TransformersChat, "load", load),
            (CachedGenerator, "answer_nll", timed("likelihood", "likelihood")),
            (ev_mod, "run_benchmarks", timed("lm_eval"))]  # the harness's own model: one phase, all suites


def _cuda_sync() -> None:
    import torch

    torch.cuda.synchronize()


def _spread(rows: list, n: Optional[int]) -> list:
    """At most n rows taken evenly over the suite (its tasks follow each other), in its order."""
    if n is None or len(rows) <= n:
        return rows
    step = len(rows) / n
    return [rows[int(k * step)] for k in range(n)]
