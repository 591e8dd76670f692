"""How long an answer may grow: the in-domain suite's limit sized to the task's own gold answers,
and the count of answers the limit cut.

A fixed limit (the quickstart's 32 tokens suits one-word labels) cuts long answers mid-way: a
list of entities stopped at `{"text` cannot be right, and a score over such answers measures
the limit, not the adapter. Unless the recipe sets eval.in_domain_max_new_tokens, the in-domain
limit is the 99th percentile of the test set's gold answer lengths in the model's own tokens
(end token included), plus a quarter and 8 tokens of margin, capped at CAP, and never below
eval.max_new_tokens (the general suites' limit). The test set's golds are used because they are
the same for every cell of a sweep.

A label task's golds are a word or two, but the answer under test need not be: a model that
explains before it names the label ("The sentiment of this movie review is ... so it is
positive") is cut at a one-word limit and scored on a sentence it never finished; the README's
base model had 25 of 30 such answers cut at 32 tokens, and it is what every in-domain gain is
measured against. So a label task's floor is LABEL_FLOOR tokens: room for a few sentences of
reasons and the label after them. The end token stops an answer that is only a label (a trained
adapter's) after one or two tokens, so the larger limit costs only the answers that explain or
ramble (and the cached answers, asked once more under the new limit); the report shows the base
model's cut share beside its comparisons, since a rambling base model is cut at any limit.
"""

import math
from dataclasses import dataclass

from iftkit.data.tasks import resolve_task, task_spec
from iftkit.evaluation.suites import FORGETTING, IFBENCH
from iftkit.models.load import load_tokenizer

PERCENTILE = 0.99
MARGIN_SHARE, MARGIN_TOKENS = 0.25, 8
CAP = 512
# a label task's floor (see the module doc). Measured: SmolLM2-135M-Instruct, the base model, on 28
# of the shipped movie reviews (limits 160 and 112): 13 answers ended on their own, at 15-111 tokens
# (mostly the label, then sentences of reasons); 24 of 28 ran past 32 tokens; the other 15 ran on,
# repeating themselves, and are cut at any limit. 128 keeps every answer that ends whole; a larger
# floor buys nothing for answers that never end, which cost floor tokens each
LABEL_FLOOR = 128
# above this share of answers cut at the limit, eval and the report warn
TRUNCATION_WARN = 0.02


@dataclass(frozen=True)
class AnswerLimit:
    tokens: int
    why: str

    def line(self, suite: str = "in_domain") -> str:
        return f"{suite} answers: up to {self.tokens} new tokens ({self.why})"


def in_domain_limit(eval_cfg, rows, tokenizer_path: str, trust_remote_code: bool = False) -> AnswerLimit:
    """The in-domain suite's max_new_tokens for these test rows (see the module doc for the rule)."""
    asked = eval_cfg.in_domain_max_new_tokens
    if asked != "auto":
        return AnswerLimit(int(asked), "eval.in_domain_max_new_tokens, set in the recipe")
    golds = [r.completion for r in rows if isinstance(r.completion, str) and r.completion.strip()]
    floor = eval_cfg.max_new_tokens
    if not golds:
        return AnswerLimit(floor, "no gold answers to size it from: eval.max_new_tokens")
    tok = load_tokenizer(tokenizer_path, trust_remote_code=trust_remote_code)
    lengths = sorted(len(ids) + 1 for ids in tok(golds, add_special_tokens=False)["input_ids"])
    return limit_from_lengths(lengths, floor, label_task=is_label_task(rows))


def is_label_task(rows) -> bool:
    """Are these rows a classification task (a user label task, or a catalog family that names its labels)?"""
    tasks = {resolve_task(r.task, task_spec(r.meta)) for r in rows}
    return bool(tasks) and all(t is not None and bool(t.labels) for t in tasks)


def limit_from_lengths(lengths: list[int], floor: int, label_task: bool = False) -> AnswerLimit:
    """The rule on gold lengths already counted in tokens (sorted or not); a label task's floor is at
    least LABEL_FLOOR."""
    lengths = sorted(lengths)
    p = lengths[max(0, math.ceil(PERCENTILE * len(lengths)) - 1)]
    sized = math.ceil(p * (1 + MARGIN_SHARE)) + MARGIN_TOKENS
    why = (f"sized to the task's answers: 99th percentile of {len(lengths)} gold answers = {p} tokens, "
           f"longest {lengths[-1]}; x{1 + MARGIN_SHARE:g} + {MARGIN_TOKENS} = {sized}")
    if sized > CAP:
        why += f", capped at {CAP} (set eval.in_domain_max_new_tokens for more)"
        sized = CAP
    if label_task and sized < LABEL_FLOOR and floor < LABEL_FLOOR:
        return AnswerLimit(LABEL_FLOOR, why + f"; a label task gets at least {LABEL_FLOOR}, room to explain "
                                              f"before the label (the end token stops a bare label early)")
    if sized < floor:
        return AnswerLimit(floor, why + f"; below eval.max_new_tokens ({floor}), which is kept")
    return AnswerLimit(sized, why)


def truncation_line(cut: int, answers: int, limit, who: str, key: str = "eval.in_domain_max_new_tokens") -> str:
    """'12 of 117 answers of ratio 0.5 hit the 64-token limit', with a warning above TRUNCATION_WARN naming
    the recipe key that raises the limit."""
    line = f"{cut} of {answers} answers of {who} hit the {limit}-token limit"
    if answers and cut > TRUNCATION_WARN * answers:
        line = "Warning: " + line + f" (cut answers are scored as they stand; raise {key})"
    return line


IFBENCH_LIMIT_KEY = "eval.ifbench_max_new_tokens"
_LIMIT_KEYS = {"in_domain": "eval.in_domain_max_new_tokens", IFBENCH: IFBENCH_LIMIT_KEY,
               FORGETTING: "eval.forgetting_max_tokens"}  # where a suite's cut is set


def truncation_lines(records) -> list[str]:
    """One line per (model, suite) whose answers the length limit cut (a warning above 2 %); for the
    forgetting suite one line saying how many reference answers were scored on their first tokens only
    (a chosen cost, not a warning: every model is scored on the same tokens)."""
    groups: dict = {}
    for r in records:
        if r.truncated is not None:
            groups.setdefault((r.model, r.suite), []).append(r)
    cut_refs = next((recs for (_, suite), recs in groups.items() if suite == FORGETTING), [])
    lines = [f"forgetting: {sum(bool(r.truncated) for r in cut_refs)} of {len(cut_refs)} reference answers scored "
             f"on their first {cut_refs[0].max_new_tokens} tokens (eval.forgetting_max_tokens)"] if cut_refs else []
    return lines + [
        truncation_line(cut, len(recs), recs[0].max_new_tokens, f"{model} on {suite}",
                        _LIMIT_KEYS.get(suite, "eval.max_new_tokens"))
        for (model, suite), recs in groups.items()
        if suite != FORGETTING and (cut := sum(bool(r.truncated) for r in recs))
    ]


def base_cut_lines(points) -> list[str]:
    """Beside every comparison with the base model: how many of its in-domain answers the limit cut.
    A cut answer is scored as it stands, so a gain over a base model that was cut mid-explanation is
    partly the limit's; the reader needs that share where the gains are read. `points` are the
    report's points (the base one has `is_base` and `truncated` = (cut, answers, limit))."""
    for p in points:
        cut = p.truncated if p.is_base else None
        if cut and cut[0]:
            return [f"- base model: {cut[0]} of {cut[1]} answers cut at {cut[2]} tokens (scored as they stand, so "
                    f"part of an in-domain gain over it may be the limit's, not the training's; "
                    f"eval.in_domain_max_new_tokens raises the limit)"]
    return []
