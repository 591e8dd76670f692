"""Hand-made tasks, scorers and eval outputs for meta-eval tests (no models, no catalog needed)."""

import json
import re
from dataclasses import dataclass

LABELS = ("positive", "negative", "neutral")


class LabelTask:
    """A classification task in the catalog's shape: strict = exact label, tolerant = one label word found."""

    name = "toy_sentiment"
    category = "classification"

    def score(self, prediction, gold, mode="strict"):
        if mode == "strict":
            return float(prediction.strip() == gold)
        found = {w for w in LABELS if re.search(rf"\b{w}\b", prediction.lower())}
        return float(found == {gold})

    def format_ok(self, prediction):
        return prediction.strip() in LABELS


class JsonTask:
    name = "toy_extract"
    category = "extraction"

    def score(self, prediction, gold, mode="strict"):
        text = prediction.strip()
        if mode == "tolerant":
            m = re.search(r"\{.*\}", text, re.S)
            text = m.group(0) if m else text
            if not m:  # plain "key: value" lines are accepted when tolerant
                pairs = dict(re.findall(r"(\w+)\s*:\s*(.+)", text))
                return float(
                    {k: v.strip().lower() for k, v in pairs.items()} == {k: str(v).lower() for k, v in gold.items()}
                )
        try:
            value = json.loads(text)
        except ValueError:
            return 0.0
        if mode == "tolerant" and isinstance(value, dict):
            value = {k.lower(): str(v).lower() for k, v in value.items()}
            gold = {k: str(v).lower() for k, v in gold.items()}
        return float(value == gold)

    def format_ok(self, prediction):
        try:
            return isinstance(json.loads(prediction), dict)
        except ValueError:
            return False


TASKS = {"toy_sentiment": LabelTask(), "toy_extract": JsonTask()}


def lookup(name, spec=None):
    return TASKS.get(name)


@dataclass
class FakeScorer:
    """Contract-shaped scorer over a per-sample function."""

    name: str
    fn: object
    higher_is_better: bool = True
    scale: tuple = (0.0, 1.0)

    def score(self, samples):
        return [self.fn(s) for s in samples]

    def aggregate(self, values):
        vals = [v for v in values if v is not None]
        return sum(vals) / len(vals) if vals else None


def exact(s):
    return float(s.prediction.strip() == s.reference.strip())


def tolerant(s):
    return TASKS[s.task].score(s.prediction, s.gold, "tolerant")


def overlap(s):
    a, b = set(s.prediction.lower().split()), set(s.reference.lower().split())
    return len(a & b) / max(len(a | b), 1)


SCORERS = {
    "exact_match": exact,
    "task_tolerant": tolerant,
    "overlap": overlap,
    "length": lambda s: min(len(s.prediction) / 100, 1),
}


def factory(name, **_):
    if name not in SCORERS:
        raise KeyError(f"unknown scorer {name}")
    return FakeScorer(name, SCORERS[name])


def _items():
    items = []
    for i in range(12):
        label = LABELS[i % 3]
        items.append(("toy_sentiment", f"Review {i}: what is the sentiment?", label, label))
    for i in range(10):
        gold = {"name": f"item{i}", "city": ["Paris", "Lyon", "Nice"][i % 3]}
        items.append(("toy_extract", f"Extract name and city from text {i}.", json.dumps(gold), gold))
    return items


def _prediction(model, task, ref, gold, i):
    """Three models: 'good' mostly right in format, 'chatty' right but wordy, 'bad' often wrong."""
    if task == "toy_sentiment":
        wrong = LABELS[(LABELS.index(gold) + 1) % 3]
        if model == "good":
            return ref if i % 4 else wrong
        if model == "chatty":
            return f"I think the review is {gold if i % 3 else wrong}." if i % 2 else ref
        return wrong if i % 3 else ref
    if model == "good":
        return ref if i % 5 else json.dumps({"name": "x", "city": "Rome"})
    if model == "chatty":
        return f"Here you go: {ref}" if i % 2 else "\n".join(f"{k}: {v}" for k, v in gold.items())
    return json.dumps({"name": gold["name"], "city": "Rome"}) if i % 2 else ref


def write_results(out_dir, models=("base", "good", "chatty", "bad")):
    """An eval --out dir in the contract's samples.jsonl shape, scored by the fake scorers."""
    from iftkit.evaluation.scorers import SampleRecord

    out_dir.mkdir(parents=True, exist_ok=True)
    lines = []
    for model in models:
        for i, (task, prompt, ref, gold) in enumerate(_items()):
            pred = _prediction("bad" if model == "base" else model, task, ref, gold, i)
            s = SampleRecord([{"role": "user", "content": prompt}], pred, ref, gold, task, TASKS[task].category)
            lines.append(
                json.dumps(
                    {
                        "model": model,
                        "adapter_path": None,
                        "suite": "in_domain",
                        "task": task,
                        "category": TASKS[task].category,
                        "sample_id": f"{task}-{i}",
                        "prompt": s.prompt,
                        "prediction": pred,
                        "reference": ref,
                        "gold": gold,
                        "scores": {n: fn(s) for n, fn in SCORERS.items()},
                        "judge": {},
                    }
                )
            )
    (out_dir / "samples.jsonl").write_text("\n".join(lines) + "\n")
    return out_dir
