"""A small hand-written mix (train/val/manifest) so training tests need no data stage."""

import hashlib
import json
from pathlib import Path

from iftkit.data.rows import Row, write_rows

WORDS = ["good", "bad", "great", "awful", "fine", "poor", "nice", "sad"]


def _row(i: int, task: str) -> Row:
    w = WORDS[i % len(WORDS)]
    if task == "sentiment":
        label = "positive" if (i % len(WORDS)) % 2 == 0 else "negative"
        return Row(prompt=[{"role": "system", "content": "Answer in one word."},
                           {"role": "user", "content": f"Review {i}: the product was {w}. Sentiment?"}],
                   completion=label, task=task, category="classification", gold=label)
    return Row(prompt=[{"role": "user", "content": f"Write the word {w} in upper case, item {i}."}],
               completion=w.upper(), task=task, category="rewrite", gold=w.upper())


def long_answer(row: Row, words: int = 60) -> Row:
    """The row with an answer of `words` words (a list, as an extraction task would answer)."""
    answer = " ".join(WORDS[k % len(WORDS)] for k in range(words))
    return Row(row.prompt, answer, row.task, row.category, answer, row.source, row.meta)


def write_test_mix(mix_dir, n_train: int = 32, n_val: int = 8, long_answers: int = 0) -> Path:
    """A mix of one-word answers; the first `long_answers` training rows answer with a long list instead."""
    mix_dir = Path(mix_dir)
    train = [_row(i, "sentiment" if i % 2 else "upper") for i in range(n_train)]
    train = [long_answer(r) if i < long_answers else r for i, r in enumerate(train)]
    val = [_row(1000 + i, "sentiment" if i % 2 else "upper") for i in range(n_val)]
    ht = write_rows(mix_dir / "train.jsonl", train)
    hv = write_rows(mix_dir / "val.jsonl", val)
    manifest = {"recipe_hash": "test", "seed": 0, "target_task": "sentiment", "target_ratio": 0.5,
                "target_count": None, "counts": {"train": n_train, "val": n_val},
                "hashes": {"train": ht, "val": hv, "test": {}}}
    (mix_dir / "manifest.json").write_text(json.dumps(manifest))
    return mix_dir


def tiny_recipe_overrides(model_dir, **extra) -> list[str]:
    base = {"model.id": str(model_dir), "training.max_steps": 4, "training.per_device_train_batch_size": 4,
            "training.logging_steps": 1, "training.save_steps": 2, "training.max_length": 64,
            "tracking.mode": "disabled", "lora.r": 4, "lora.alpha": 8}
    base.update(extra)
    out = []
    for k, v in base.items():
        out += [f"--{k}", json.dumps(v) if not isinstance(v, str) else v]
    return out


def sha(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def checkout_script(rel: str):
    """A script of the checkout this iftkit was imported from (train/sft.py, eval/run.py), loaded as a module."""
    import importlib.util

    path = Path(__file__).resolve().parents[2] / rel
    spec = importlib.util.spec_from_file_location(Path(rel).stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def sft_main(argv) -> int:
    """What `python train/sft.py ARGS` runs: the script's own main, in this process, its errors one line."""
    from iftkit.cli import run_guarded

    return run_guarded("train/sft.py", checkout_script("train/sft.py").main, list(argv))
