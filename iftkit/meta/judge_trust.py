"""May the judge in use carry a report? Its measured agreement with human preferences, per judge output.

A judge whose verdicts agree with humans no better than a coin cannot decide anything, yet the
report would otherwise fall back to it whenever the task checker has no scores. So the report
uses a judge output as its primary or fallback scorer only when that same output, with that same
prompt, was measured on human pairwise preferences (`iftkit meta-eval --human FILE`, or
eval.judge.trust_set, measured once) and the exact (Clopper-Pearson) 95 % interval of its agreement
lies at or above eval.judge.trust_min_agreement (0.65) over at least eval.judge.trust_min_pairs (100)
human pairs. Agreement counts a judge tie or an unparseable call as disagreeing. The pairwise judge is
measured with the pairwise prompt in both orders; the reference-guided 0-10 judge grades each answer of
a pair alone, and its preference is the higher grade: a measurement of one never admits the other.
Position bias (agreement in each order, share of first-slot wins) and length bias (share of wins for
the longer answer beside the humans' share) are kept beside the agreement. A measured judge's
sensitivity and specificity also correct its win rates for its errors (Rogan-Gladen; `corrected_rate`),
with an interval that counts both the test prompts and the human pairs it was measured on.
The measurement is cached under the judge's identity (backend, model weights' fingerprint or server URL
+ model name, precision, verdict mode, the output and its prompt), so a changed judge is measured afresh
and never inherits another judge's trust; the thresholds are applied when the record is read, so a
changed threshold needs no new measurement. iftkit ships no human set: the user names one (LLMBar's
JSON works as it is).
"""

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Optional, Union

from iftkit.core.atomic import write_json_atomic
from iftkit.core.errors import IftkitError
from iftkit.core.fingerprint import json_hash, model_fingerprint
from iftkit.core.paths import cache_dir
from iftkit.core.stats import Estimate
from iftkit.evaluation.judge.prompts import load_judge_prompt
from iftkit.evaluation.scorers import PAIRWISE_JUDGE, REFERENCE_BASED, is_judge, playing, plays
from iftkit.meta import human as human_io
from iftkit.meta import pairwise, scorer_access
from iftkit.models.chat.factory import judge_info
from iftkit.models.resolve import resolve_model

CHANCE = 0.5
MIN_AGREEMENT = 0.65  # eval.judge.trust_min_agreement: strong judges reach 0.80-0.95 on LLMBar
MIN_PAIRS = 100  # eval.judge.trust_min_pairs
LEVEL = 0.95
FIGURE = "agreement_exact"
OUTPUTS = {"pairwise": "pairwise judge (A/B/tie, both orders)", "reference": "reference-guided 0-10 judge"}
TRUST_DIR = "judge_trust"


@dataclass
class Trust:
    judge: str  # the judge in words
    key: str  # its identity hash: what the measurement is cached under
    trusted: bool
    reason: str
    agreement: Optional[dict] = None  # {value, ci_low, ci_high, n, note} of the deciding figure; None: never measured
    figure: Optional[str] = None
    human_file: Optional[str] = None
    pairs: int = 0
    measured: Optional[str] = None
    output: str = "pairwise"  # the judge output measured: pairwise | reference
    gate: Optional[dict] = None  # pairwise.gate_counts of the measurement
    bias: Optional[dict] = None  # position and length figures beside the agreement

    @property
    def figure_text(self) -> str:
        """`0.55 [0.45, 0.65] over 100 pairs`, or `not measured`."""
        a = self.agreement
        if not a or a.get("value") is None:
            return "not measured"
        ci = f" [{a['ci_low']:.2f}, {a['ci_high']:.2f}]" if a.get("ci_low") is not None else ""
        return f"{a['value']:.2f}{ci} over {a.get('n', self.pairs)} pairs"

    def line(self) -> str:
        return f"judge trust: {self.text()}"

    def text(self) -> str:
        what = f"{self.judge} as {OUTPUTS.get(self.output, self.output)}"
        if self.agreement is None:
            return f"{what}: {self.reason}"
        return (f"{what} agrees with humans {self.figure_text} of {self.human_file} (exact 95 % interval; a tie or "
                f"an unparseable call counts as disagreeing){bias_text(self.bias)}; {self.reason}")

    def correction(self, wins: float, n: int) -> Optional[dict]:
        """The judge's win rate `wins` over `n` test prompts corrected for its measured errors, or None."""
        cal = (self.gate or {}).get("calibration")
        return corrected_rate(wins, n, cal).to_dict() if cal and self.output == "pairwise" else None


class Trusts(dict):
    """The trust verdict per judge output scored in a report ({"pairwise": Trust, "reference": Trust})."""

    @property
    def trusted(self) -> bool:
        return all(t.trusted for t in self.values())

    def line(self) -> str:
        return "\n".join(t.line() for t in self.values())

    def for_output(self, scorer: str) -> Trust:
        kind = output_kind(scorer)
        return self.get(kind) or Trust("the judge", "", False, f"its {OUTPUTS[kind]} output was never measured "
                                       "against human judgments: never chosen as the primary or fallback scorer",
                                       output=kind)


def as_trusts(trust: Union[Trust, Trusts, None]) -> Optional[Trusts]:
    """A single Trust gates only the output it measured."""
    if trust is None or isinstance(trust, Trusts):
        return trust
    return Trusts({trust.output: trust})


def output_kind(scorer: str) -> str:
    """pairwise for the pairwise judge's outputs, reference for every other judge output (0-10 grades)."""
    return "pairwise" if plays(scorer, PAIRWISE_JUDGE) else "reference"


def clopper_pearson(k: int, n: int, level: float = LEVEL) -> tuple[float, float]:
    """The exact binomial interval: never narrower than the truth needs, at any n."""
    from scipy.stats import beta

    a = (1 - level) / 2
    low = 0.0 if k == 0 else float(beta.ppf(a, k, n - k + 1))
    high = 1.0 if k == n else float(beta.ppf(1 - a, k + 1, n - k))
    return low, high


def corrected_rate(wins: float, n: int, calibration: dict, level: float = LEVEL):
    """Rogan-Gladen: the share of test prompts the answer truly wins, from the judge's observed win rate
    wins / n and its sensitivity and specificity measured on human pairs: (p + sp - 1) / (se + sp - 1).
    Its interval (delta method) counts the variance of all three: the n test prompts and both halves of the
    human set, so a small calibration set widens it. A judge no better than chance (se + sp <= 1 + 0.05)
    cannot be corrected: value None."""
    (se_sum, se_n), (sp_sum, sp_n) = calibration["sensitivity"], calibration["specificity"]
    if not n or not se_n or not sp_n:
        return Estimate(None, n=n, note="nothing to correct with")
    p, se, sp = wins / n, se_sum / se_n, sp_sum / sp_n
    j = se + sp - 1
    if j <= 0.05:
        return Estimate(None, n=n, note=f"sensitivity {se:.2f} + specificity {sp:.2f} leave nothing to correct with")
    pi = (p + sp - 1) / j
    var = (p * (1 - p) / n + pi ** 2 * se * (1 - se) / se_n + (1 - pi) ** 2 * sp * (1 - sp) / sp_n) / j ** 2
    z = 1.959963984540054 if level == 0.95 else _z(level)
    half = z * math.sqrt(var)
    clip = lambda x: min(1.0, max(0.0, x))  # noqa: E731
    return Estimate(clip(pi), clip(pi - half), clip(pi + half), n,
                    note=f"corrected for sensitivity {se:.2f}, specificity {sp:.2f} ({se_n + sp_n} human pairs)")


def _z(level: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(0.5 + level / 2))


def bias_text(bias: Optional[dict]) -> str:
    if not bias:
        return ""
    parts = []
    first = bias.get("first_slot_rate") or {}
    if first.get("value") is not None:
        one, two = bias.get("agreement_one_order") or {}, bias.get("agreement_swapped_order") or {}
        order = (f", agreement {one['value']:.2f} in the given order vs {two['value']:.2f} swapped"
                 if one.get("value") is not None and two.get("value") is not None else "")
        parts.append(f"position: picks the first slot in {first['value']:.2f} of decisive verdicts{order}")
    elif bias.get("pointwise"):
        parts.append("position: none possible (it grades one answer at a time)")
    longer, human = bias.get("longer_chosen_rate") or {}, bias.get("human_longer_rate") or {}
    if longer.get("value") is not None:
        ref = f" vs {human['value']:.2f} for the humans" if human.get("value") is not None else ""
        parts.append(f"length: prefers the longer answer in {longer['value']:.2f} of decisive calls{ref}")
    return "".join(f"; {p}" for p in parts)


BIAS_KEYS = ("agreement_one_order", "agreement_swapped_order", "first_slot_rate", "longer_chosen_rate",
             "human_longer_rate", "order_consistency", "pointwise")


def judge_identity(recipe, output: str = "pairwise") -> tuple[dict, str]:
    """(identity, description) of the recipe's judge as it writes `output`, computed without loading it."""
    j = recipe.eval.judge
    path = j.pairwise_prompt_file if output == "pairwise" else j.prompt_file
    ident = {"verdict": j.verdict, "output": output, "prompt": load_judge_prompt(output, path).identity()}
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


def thresholds(recipe) -> tuple[float, int]:
    j = recipe.eval.judge
    return (getattr(j, "trust_min_agreement", MIN_AGREEMENT), getattr(j, "trust_min_pairs", MIN_PAIRS))


def decide(summary: dict, min_agreement: float = MIN_AGREEMENT,
           min_pairs: int = MIN_PAIRS) -> tuple[bool, str, Optional[str], Optional[dict]]:
    """(trusted, why, deciding figure, its estimate) from a pairwise summary (meta/pairwise.summarise)."""
    gate = summary.get("gate")
    if not gate:
        return False, "measured before the exact gate existed: measure it again", None, None
    n, k = gate["n"], gate["agree"]
    if not n:
        return False, "no human pair with a preference, so its agreement is unknown", None, None
    low, high = clopper_pearson(k, n)
    est = {"value": k / n, "ci_low": low, "ci_high": high, "n": n, "note": "Clopper-Pearson 95 %"}
    if n < min_pairs:
        return (False, f"only {n} human pairs with a preference; the gate needs at least {min_pairs} "
                "(eval.judge.trust_min_pairs): never chosen as the primary or fallback scorer", FIGURE, est)
    if low >= min_agreement:
        return True, f"its lower bound {low:.2f} clears {min_agreement:.2f}: usable as a scorer", FIGURE, est
    return (False, f"its lower bound {low:.2f} is below {min_agreement:.2f} (eval.judge.trust_min_agreement): "
            "never chosen as the primary or fallback scorer", FIGURE, est)


def record(recipe, summary: dict, human_file, identity: Optional[tuple] = None, output: str = "pairwise") -> Trust:
    """Cache the judge output's measured agreement under its identity and return the verdict."""
    ident, name = identity or judge_identity(recipe, output)
    key = _key(ident)
    trusted, why, figure, est = decide(summary, *thresholds(recipe))
    bias = {k: summary.get(k) for k in BIAS_KEYS if k in summary}
    trust = Trust(name, key, trusted, why, est, figure, str(human_file), int(summary.get("pairs") or 0),
                  time.strftime("%Y-%m-%dT%H:%M:%S"), output, summary.get("gate"), bias)
    write_json_atomic(trust_path(key), {**asdict(trust), "identity": ident}, indent=2, sort_keys=True)
    return trust


def cached(recipe, identity: Optional[tuple] = None, output: str = "pairwise") -> Trust:
    """The judge output's cached measurement, judged by the recipe's thresholds now, or an untrusted
    record saying it was never measured."""
    ident, name = identity or judge_identity(recipe, output)
    key = _key(ident)
    path = trust_path(key)
    if path.is_file():
        try:
            d = json.loads(path.read_text())
            trust = Trust(**{k: d.get(k) for k in Trust.__dataclass_fields__})
        except (ValueError, TypeError) as exc:
            raise IftkitError(f"{path}: unreadable judge trust record ({exc}); delete it to measure again") from None
        trust.trusted, trust.reason, trust.figure, trust.agreement = decide(
            {"gate": trust.gate}, *thresholds(recipe))
        return trust
    prompt = "pairwise_prompt_file" if output == "pairwise" else "prompt_file"
    return Trust(name, key, False, f"never measured against human judgments with this output and prompt "
                 f"(eval.judge.{prompt}; run `iftkit meta-eval --human FILE` with the same recipe, or set "
                 "eval.judge.trust_set): never chosen as the primary or fallback scorer", output=output)


def measure(recipe, human_file, judge: Optional[Callable] = None, resamples: int = 1000,
            identity: Optional[tuple] = None, log: Callable = print, output: str = "pairwise") -> Trust:
    """Judge every human pair of `human_file` with the recipe's judge as it writes `output` (or `judge`: for
    pairwise a batch callable [(prompt, first, second)] -> verdicts, asked in both orders; for reference a
    batch callable [(prompt, answer)] -> grades), then record and return the verdict."""
    scores, pairs = human_io.split(human_io.load_human(human_file))
    if not pairs:
        raise IftkitError(f"{human_file}: a judge trust set needs pairwise human preferences (LLMBar "
                          "{input, output_1, output_2, label} or {prompt, response_a, response_b, preference}); "
                          f"found {len(scores)} single scores")
    if judge is None:
        build = scorer_access.registry_factory(recipe)
        if output == "pairwise":
            judge = scorer_access.pairwise_callable(build(playing(PAIRWISE_JUDGE)[0]))
        else:
            judge = scorer_access.pointwise_callable(build(_reference_judge()))
    how = "in both orders" if output == "pairwise" else "one answer at a time"
    log(f"judge trust: judging {len(pairs)} human pairs of {human_file} {how} ({OUTPUTS[output]})")
    if output == "pairwise":
        summary = pairwise.summarise(pairwise.judge_pairs(judge, pairs), resamples)
    else:
        summary = pairwise.summarise(pairwise.score_pairs(judge, pairs), resamples, pointwise=True)
    trust = record(recipe, summary, human_file, identity, output)
    log(trust.line())
    return trust


def _reference_judge() -> str:
    return next(s for s in playing(REFERENCE_BASED) if is_judge(s))


def judge_trust(recipe, scored: set, log: Callable = print) -> Optional[Trusts]:
    """The trust verdict per judge output a report's rows were scored with (None: no judge scored them).
    Measures an output first when eval.judge.trust_set names a human set and nothing is cached for it yet."""
    kinds = sorted({output_kind(s) for s in scored if is_judge(s)})
    if not kinds:
        return None
    out = Trusts()
    for kind in kinds:
        try:
            identity = judge_identity(recipe, kind)
        except IftkitError as exc:  # a judge model gone since the eval: its rows stay, its trust is unknown
            out[kind] = Trust(recipe.eval.judge.model, "", False, f"its identity cannot be established ({exc})",
                              output=kind)
            continue
        trust = cached(recipe, identity, kind)
        if trust.agreement is None and trust_set(recipe):
            trust = measure(recipe, trust_set(recipe), identity=identity, log=log, output=kind)
        out[kind] = trust
    return out


def trust_set(recipe) -> Optional[str]:
    return getattr(recipe.eval.judge, "trust_set", None)
