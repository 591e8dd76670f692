"""Write the packaged multiple-choice task's documents (tasks/iftkit_mc.jsonl), deterministically.

The questions are held out from training by construction: word categories, opposites and the
order of months and weekdays, none of which the catalog's task families (iftkit data tasks)
generate. Each document: {"question", "choices" (4), "answer" (index of the right choice)}.
Regenerate with `python -m iftkit.evaluation.harness.build_tasks`; a test keeps the shipped
file equal to this output.
"""

import json
import random
from pathlib import Path

from iftkit.evaluation.harness.tasks import packaged_task_dir

MC_FILE = "iftkit_mc.jsonl"
SEED = 15

CATEGORIES = {
    "an animal": ["horse", "rabbit", "eagle", "salmon", "tiger", "frog", "sheep", "owl"],
    "a fruit": ["banana", "cherry", "mango", "pear", "plum", "lemon", "grape", "peach"],
    "a colour": ["purple", "orange", "green", "yellow", "brown", "grey", "pink", "blue"],
    "a tool": ["hammer", "wrench", "saw", "drill", "shovel", "chisel", "rake", "pliers"],
    "a musical instrument": ["violin", "trumpet", "flute", "drum", "piano", "guitar", "harp", "cello"],
    "a piece of furniture": ["sofa", "table", "wardrobe", "bench", "stool", "desk", "shelf", "armchair"],
}
OPPOSITES = [("hot", "cold"), ("tall", "short"), ("early", "late"), ("empty", "full"), ("heavy", "light"),
             ("open", "closed"), ("win", "lose"), ("buy", "sell"), ("wet", "dry"), ("loud", "quiet"),
             ("fast", "slow"), ("rich", "poor"), ("push", "pull"), ("above", "below"), ("ancient", "modern"),
             ("sharp", "blunt"), ("remember", "forget"), ("arrive", "leave")]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def _choices(rng, right, pool):
    wrong = rng.sample([w for w in pool if w != right], 3)
    options = [right] + wrong
    rng.shuffle(options)
    return options, options.index(right)


def mc_documents() -> list[dict]:
    rng = random.Random(SEED)
    docs = []
    for cat, words in CATEGORIES.items():
        others = [w for c, ws in CATEGORIES.items() if c != cat for w in ws]
        for word in rng.sample(words, 4):
            options, answer = _choices(rng, word, others + [word])
            docs.append({"question": f"Which of these is {cat}?", "choices": options, "answer": answer})
    for a, b in OPPOSITES:
        pool = [w for pair in OPPOSITES for w in pair if w not in (a, b)] + [b]
        options, answer = _choices(rng, b, pool)
        docs.append({"question": f"What is the opposite of \"{a}\"?", "choices": options, "answer": answer})
    for i, month in enumerate(MONTHS):
        options, answer = _choices(rng, MONTHS[(i + 1) % 12], MONTHS)
        docs.append({"question": f"Which month comes right after {month}?", "choices": options, "answer": answer})
    for i, day in enumerate(DAYS):
        options, answer = _choices(rng, DAYS[(i - 1) % 7], DAYS)
        docs.append({"question": f"Which day comes right before {day}?", "choices": options, "answer": answer})
    return docs


def write(folder: Path = None) -> Path:
    path = Path(folder or packaged_task_dir()) / MC_FILE
    path.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in mc_documents()), encoding="utf-8")
    return path


if __name__ == "__main__":
    print(write())
