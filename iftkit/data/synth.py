"""Teacher-generated instruction data, self-instruct style (`iftkit data synth`).

Each request shows the teacher a few examples sampled from the seed pool (and, once there are
some, from what it already wrote), asks for one new task of a given category as a JSON object,
and the answer goes through three gates: it parses, it passes format checks, and its
instruction is not a near-duplicate (ROUGE-L F >= threshold) of any instruction already in the
pool. Categories rotate so the output covers all of them.

Requests are numbered and built only from the seed, the request number and the pool as it
stood before the request's batch; every answer is cached on disk. So a rerun, or a run resumed
after an interruption, replays finished requests from the cache (zero new calls) and only
calls the teacher for the rest.
"""

import json
import random
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Callable, Optional

from iftkit.core.errors import IftkitError
from iftkit.data.loaders import load_file
from iftkit.data.rows import Row, write_rows
from iftkit.data.tasks.base import find_json, seed_int

PAPER_CATEGORIES = (
    "classify",
    "code",
    "context_answer",
    "create",
    "extract",
    "logic",
    "memory_answer",
    "rewrite",
    "summarize",
    "translate",
    "write",
)
_CATEGORY_HINT = {
    "classify": "sort an input into one of a few labels",
    "code": "write, explain or fix a small piece of code",
    "context_answer": "answer a question from a short passage given as input",
    "create": "brainstorm a short list or a name",
    "extract": "pull specific facts out of a given text",
    "logic": "a small reasoning or arithmetic problem",
    "memory_answer": "a general-knowledge question",
    "rewrite": "rewrite a given text (tone, voice, spelling, length)",
    "summarize": "summarize a short given text",
    "translate": "translate a short text between languages",
    "write": "write a short text for a purpose",
}
_REFUSALS = ("as an ai", "language model", "i cannot", "i can't", "i'm sorry", "i am sorry")
_NON_TEXT = ("image", "picture", "photo", "graph", "video", "audio", "draw", "diagram", "map of")


@dataclass
class SeedTask:
    instruction: str
    input: str
    output: str
    category: str

    def user_text(self) -> str:
        return self.instruction if not self.input.strip() else f"{self.instruction}\n\n{self.input}"


@dataclass
class SynthReport:
    accepted: int = 0
    requests: int = 0
    new_calls: int = 0
    cached_calls: int = 0
    failed_calls: int = 0
    rejected: dict = field(default_factory=dict)
    out: str = ""

    def line(self) -> str:
        rej = ", ".join(f"{k} {v}" for k, v in sorted(self.rejected.items())) or "none"
        return (
            f"accepted {self.accepted} of {self.requests} requests -> {self.out}; "
            f"teacher calls: {self.new_calls} new, {self.cached_calls} cached, {self.failed_calls} failed; "
            f"rejected: {rej}"
        )


def load_seed_tasks(path=None) -> list[SeedTask]:
    """The project's packaged seed pool, or a user file in any supported schema."""
    if path is None:
        text = resources.files("iftkit.data").joinpath("seeds/seed_tasks.jsonl").read_text(encoding="utf-8")
        return [
            SeedTask(d["instruction"], d.get("input", ""), d["output"], d["category"])
            for d in map(json.loads, filter(str.strip, text.splitlines()))
        ]
    rows = load_file(path).rows
    return [SeedTask(r.user_text(), "", r.completion, r.category) for r in rows]


def build_request(examples: list[SeedTask], category: str) -> list[dict]:
    shown = []
    for i, ex in enumerate(examples, 1):
        shown.append(
            f"Example {i} (category: {ex.category})\n"
            + json.dumps({"instruction": ex.instruction, "input": ex.input, "output": ex.output}, ensure_ascii=False)
        )
    hint = _CATEGORY_HINT.get(category, "the same kind of task, with the same output format, as the examples")
    user = (
        "Here are example tasks for training an assistant. Each has an instruction, an optional input "
        "and the ideal output.\n\n" + "\n\n".join(shown) + "\n\n"
        f'Write ONE new task of category "{category}" ({hint}). It must differ from the examples, '
        "be answerable from text alone, keep the instruction under 40 words and the output under 80 words. "
        'Reply with a single JSON object with the keys "instruction", "input" (may be empty) and '
        '"output", and nothing else.'
    )
    return [
        {"role": "system", "content": "You write high-quality, varied training data for a small assistant."},
        {"role": "user", "content": user},
    ]


def parse_candidate(text: Optional[str]) -> tuple[Optional[SeedTask], str]:
    """(task, '') or (None, rejection reason). Teacher output is only parsed, never executed."""
    if text is None:
        return None, "call_failed"
    obj = find_json(text)
    if not isinstance(obj, dict):
        fields = {}
        for key in ("instruction", "input", "output"):
            m = re.search(rf"(?im)^{key}\s*:\s*(.*?)(?=^\w+\s*:|\Z)", text, flags=re.S | re.M)
            if m:
                fields[key] = m.group(1).strip()
        obj = fields if {"instruction", "output"} <= set(fields) else None
    if not isinstance(obj, dict):
        return None, "unparseable"
    ins, inp, out = obj.get("instruction"), obj.get("input", ""), obj.get("output")
    if not isinstance(ins, str) or not isinstance(out, str) or not isinstance(inp, (str, type(None))):
        return None, "bad_fields"
    ins, inp, out = ins.strip(), (inp or "").strip(), out.strip()
    if not (3 <= len(ins.split()) <= 60) or not re.match(r"[A-Za-z0-9\"']", ins):
        return None, "bad_instruction"
    if not out or len(out.split()) > 150 or len(inp.split()) > 200:
        return None, "bad_length"
    low = f"{ins} {out}".lower()
    if any(r in low for r in _REFUSALS):
        return None, "refusal"
    if any(re.search(rf"\b{w}", ins.lower()) for w in _NON_TEXT):
        return None, "non_text"
    return SeedTask(ins, inp, out, ""), ""


class NearDupFilter:
    """ROUGE-L F-measure of a new instruction against every instruction already in the pool."""

    def __init__(self, threshold: float):
        from rouge_score import rouge_scorer

        self.threshold = threshold
        self.scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
        self.pool: list[str] = []

    def add(self, instruction: str) -> None:
        self.pool.append(instruction)

    def max_similarity(self, instruction: str) -> float:
        best = 0.0
        for other in self.pool:
            best = max(best, self.scorer.score(other, instruction)["rougeL"].fmeasure)
            if best >= self.threshold:
                break
        return best


def synthesize(
    cfg, teacher, out_path, seeds: Optional[list[SeedTask]] = None, progress: Optional[Callable[[str], None]] = None
) -> SynthReport:
    """Generate up to cfg.n accepted rows into out_path (JSONL rows). `teacher` is a data.teacher.Teacher."""
    seeds = seeds if seeds is not None else load_seed_tasks(cfg.seeds_file)
    if len(seeds) < 2:
        raise IftkitError(f"the seed pool has {len(seeds)} task(s); at least 2 are needed")
    # the packaged pool rotates over the paper's categories; a user's pool (e.g. target-task
    # examples) over its own, so the teacher writes more of the same kind and format
    categories = sorted({s.category for s in seeds if s.category}) or list(PAPER_CATEGORIES)
    max_calls = cfg.max_calls or 4 * cfg.n
    batch_size = max(1, cfg.max_concurrency)
    dedup = NearDupFilter(cfg.rouge_threshold)
    for s in seeds:
        dedup.add(s.instruction)
    accepted: list[Row] = []
    machine: list[SeedTask] = []
    report = SynthReport(out=str(out_path))
    req = 0
    while len(accepted) < cfg.n and req < max_calls:
        batch = []
        for _ in range(min(batch_size, max_calls - req)):
            category = categories[req % len(categories)]
            batch.append((req, category, build_request(_examples(cfg, seeds, machine, category, req), category)))
            req += 1
        answers = teacher.complete_many([(msgs, seed_int("synth-call", cfg.seed, r)) for r, _, msgs in batch])
        for (r, category, _), text in zip(batch, answers):
            cand, why, sim = _candidate(text, dedup, cfg.rouge_threshold)
            if cand is None:
                report.rejected[why] = report.rejected.get(why, 0) + 1
                continue
            if len(accepted) >= cfg.n:
                break
            cand.category = category
            dedup.add(cand.instruction)
            machine.append(cand)
            accepted.append(_teacher_row(cand, cfg.task, teacher.model_name, r, sim))
        if progress:
            progress(f"synth: {len(accepted)}/{cfg.n} accepted after {req} request(s)")
    report.accepted, report.requests = len(accepted), req
    report.new_calls, report.cached_calls, report.failed_calls = (
        teacher.new_calls, teacher.cached_calls, teacher.failed_calls)
    write_rows(Path(out_path), accepted)
    return report


def _examples(cfg, seeds: list[SeedTask], machine: list[SeedTask], category: str, req: int) -> list[SeedTask]:
    """The in-context examples of request `req`: mostly its category's seeds, one of the teacher's own earlier
    tasks among them, drawn from the request's own seed (a rerun asks the same)."""
    rng = random.Random(seed_int("synth", cfg.seed, req))
    same = [s for s in seeds if s.category == category]
    k = cfg.examples_per_prompt
    examples = rng.sample(same, min(len(same), max(1, k - 1))) if same else []
    others = [s for s in seeds if s not in examples]
    examples += rng.sample(others, min(len(others), k - len(examples)))
    if machine and k > 1:  # self-instruct mixes in the teacher's own earlier tasks
        examples[-1] = machine[rng.randrange(len(machine))]
    rng.shuffle(examples)
    return examples


def _candidate(text: Optional[str], dedup: NearDupFilter, threshold: float):
    """(the parsed task or None, why it was rejected, its ROUGE-L to the nearest kept task)."""
    cand, why = parse_candidate(text)
    sim = 0.0
    if cand is not None:
        sim = dedup.max_similarity(cand.instruction)
        if sim >= threshold:
            cand, why = None, "near_duplicate"
    return cand, why, sim


def _teacher_row(cand: SeedTask, task: str, model_name: str, request: int, sim: float) -> Row:
    return Row(
        prompt=[{"role": "user", "content": cand.user_text()}],
        completion=cand.output,
        task=task,
        category=cand.category,
        gold=cand.output,
        source=f"teacher:{model_name}",
        meta={"request": request, "rouge_l_max": round(sim, 4)},
    )
