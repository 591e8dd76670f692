"""May the judge in use carry a report? Its measured agreement with human preferences, per judge identity.

A judge whose verdicts agree with humans no better than a coin cannot decide anything, yet the
report would otherwise fall back to it whenever the task checker has no scores. So the report
uses a judge as its primary or fallback scorer only when it was measured on human pairwise
preferences (`iftkit meta-eval --human FILE`, or eval.judge.trust_set, measured once) and the 95 %
interval of its order-debiased agreement lies above chance (0.5). The measurement is cached under
the judge's identity (backend, model weights' fingerprint or server URL + model name, precision,
verdict mode, both judge prompts), so a changed judge is measured afresh and never inherits another
judge's trust. iftkit ships no human set: the user names one (LLMBar's JSON works as it is).
"""

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Optional

from iftkit.core.atomic import write_json_atomic
from iftkit.core.errors import IftkitError
from iftkit.core.fingerprint import json_hash, model_fingerprint
from iftkit.core.paths import cache_dir
from iftkit.evaluation.judge.prompts import load_judge_prompt
from iftkit.evaluation.scorers import PAIRWISE_JUDGE, is_judge, playing
from iftkit.meta import human as human_io
from iftkit.meta import scorer_access
from iftkit.models.chat.factory import judge_info
from iftkit.models.resolve import resolve_model

CHANCE = 0.5
# the figure that decides: agreement with both orders' probabilities averaged where the judge gives
# probabilities (the order bias cancels), else the verdicts of both orders combined (a split is a tie)
FIGURES = ("agreement_both_orders_probs", "agreement_both_orders")
TRUST_DIR = "judge_trust"


@dataclass
class Trust:
    judge: str  # the judge in words
    key: str  # its identity hash: what the measurement is cached under
    trusted: bool
    reason: str
    agreement: Optional[dict] = None  # Estimate.to_dict() of the deciding figure; None: never measured
    figure: Optional[str] = None
    human_file: Optional[str] = None
    pairs: int = 0
    measured: Optional[str] = None

    @property
    def figure_text(self) -> str:
        """`0.55 [0.45, 0.65] over 100 pairs`, or `not measured`."""
        a = self.agreement
        if not a or a.get("value") is None:
            return "not measured"
        ci = f" [{a['ci_low']:.2f}, {a['ci_high']:.2f}]" if a.get("ci_low") is not None else ""
        return f"{a['value']:.2f}{ci} over {a.get('n', self.pairs)} pairs"

    def line(self) -> str:
        if self.agreement is None:
            return f"judge trust: {self.judge}: {self.reason}"
        return (f"judge trust: {self.judge} agrees with humans {self.figure_text} of {self.human_file} "
                f"({(self.figure or '').replace('_', ' ')}); {self.reason}")


def judge_identity(recipe) -> tuple[dict, str]:
    """(identity, description) of the recipe's judge, computed without loading it."""
    j = recipe.eval.judge
    prompts = {kind: load_judge_prompt(kind, path).identity()
               for kind, path in (("reference", j.prompt_file), ("pairwise", j.pairwise_prompt_file))}
    ident = {"verdict": j.verdict, "prompts": prompts}
    if judge_info(recipe).runs == "server":
        ident.update(backend=j.backend, url=j.base_url, model=j.model)
        return ident, f"{j.backend}:{j.model} at {j.base_url}"
    model_id = recipe.model.id if j.model == "base" else j.model
    ident.update(backend="transformers", model=model_fingerprint(str(resolve_model(model_id))),
                 dtype=recipe.model.dtype if j.dtype == "model" else j.dtype)
    return ident, f"local:{model_id}" + (" (the base model)" if j.model == "base" else "")


def _key(ident: dict) -> str:
    return json_hash(ident)


def trust_path(key: str) -> Path:
    return cache_dir() / TRUST_DIR / f"{key}.json"


def decide(summary: dict) -> tuple[bool, str, Optional[str], Optional[dict]]:
    """(trusted, why, deciding figure, its estimate) from a pairwise summary (meta/pairwise.summarise)."""
    figure = next((f for f in FIGURES if (summary.get(f) or {}).get("value") is not None), None)
    if figure is None:
        return False, "no decisive verdict on the human pairs, so its agreement is unknown", None, None
    est = summary[figure]
    if est.get("ci_low") is None:
        return False, "too few human pairs for an interval on its agreement", figure, est
    if est["ci_low"] > CHANCE:
        return True, f"its 95 % interval lies above chance ({CHANCE:.2f}): usable as a scorer", figure, est
    return (False, f"its 95 % interval includes chance ({CHANCE:.2f}) or lies below it: never chosen as the "
            "primary or fallback scorer", figure, est)


def record(recipe, summary: dict, human_file, identity: Optional[tuple] = None) -> Trust:
    """Cache the judge's measured agreement under its identity and return the verdict."""
    ident, name = identity or judge_identity(recipe)
    key = _key(ident)
    trusted, why, figure, est = decide(summary)
    trust = Trust(name, key, trusted, why, est, figure, str(human_file), int(summary.get("pairs") or 0),
                  time.strftime("%Y-%m-%dT%H:%M:%S"))
    write_json_atomic(trust_path(key), {**asdict(trust), "identity": ident}, indent=2, sort_keys=True)
    return trust


def cached(recipe, identity: Optional[tuple] = None) -> Trust:
    """The judge's cached measurement, or an untrusted record saying it was never measured."""
    ident, name = identity or judge_identity(recipe)
    key = _key(ident)
    path = trust_path(key)
    if path.is_file():
        try:
            d = json.loads(path.read_text())
            return Trust(**{k: d.get(k) for k in Trust.__dataclass_fields__})
        except (ValueError, TypeError) as exc:
            raise IftkitError(f"{path}: unreadable judge trust record ({exc}); delete it to measure again") from None
    return Trust(name, key, False, "never measured against human judgments (run `iftkit meta-eval --human FILE` "
                 "with the same recipe, or set eval.judge.trust_set): never chosen as the primary or fallback scorer")


def measure(recipe, human_file, judge: Optional[Callable] = None, resamples: int = 1000,
            identity: Optional[tuple] = None, log: Callable = print) -> Trust:
    """Judge every human pair of `human_file` in both orders with the recipe's pairwise judge (or `judge`,
    a batch callable [(prompt, first, second)] -> verdicts), then record and return the verdict."""
    from iftkit.meta import pairwise

    scores, pairs = human_io.split(human_io.load_human(human_file))
    if not pairs:
        raise IftkitError(f"{human_file}: a judge trust set needs pairwise human preferences (LLMBar "
                          "{input, output_1, output_2, label} or {prompt, response_a, response_b, preference}); "
                          f"found {len(scores)} single scores")
    if judge is None:
        judge = scorer_access.pairwise_callable(scorer_access.registry_factory(recipe)(playing(PAIRWISE_JUDGE)[0]))
    log(f"judge trust: judging {len(pairs)} human pairs of {human_file} in both orders")
    summary = pairwise.summarise(pairwise.judge_pairs(judge, pairs), resamples)
    trust = record(recipe, summary, human_file, identity)
    log(trust.line())
    return trust


def judge_trust(recipe, scored: set, log: Callable = print) -> Optional[Trust]:
    """The trust verdict on the judge a report's rows were scored with (None: no judge scored them).
    Measures it first when eval.judge.trust_set names a human set and nothing is cached yet."""
    if not any(is_judge(s) for s in scored):
        return None
    try:
        identity = judge_identity(recipe)
    except IftkitError as exc:  # a judge model gone since the eval: its rows stay, its trust is unknown
        return Trust(recipe.eval.judge.model, "", False, f"its identity cannot be established ({exc})")
    trust = cached(recipe, identity)
    if trust.agreement is None and trust_set(recipe):
        trust = measure(recipe, trust_set(recipe), identity=identity, log=log)
    return trust


def trust_set(recipe) -> Optional[str]:
    return getattr(recipe.eval.judge, "trust_set", None)
