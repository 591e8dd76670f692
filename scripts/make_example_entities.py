"""Write recipes/data/examples/entities.jsonl: a named-entity file whose answers are lists of records.

Run: .venv/bin/python scripts/make_example_entities.py [--rows 400] [--out recipes/data/examples/entities.jsonl]

Each row is {"sentence": ..., "entities": [{"text": ..., "type": PER|ORG|LOC|DATE}, ...]}: one to nine
entities per sentence, so the answers run from 14 to 137 SmolLM2 tokens, median 46: longer than most real
NER exports, so a fixed 32-token limit cuts three quarters of them. Deterministic for a given --seed. The
names and templates are made up here; no row comes from a public dataset.
"""

import argparse
import json
import random
from pathlib import Path

PEOPLE = ["Mara Quist", "Tomas Ebner", "Ines Valdo", "Kofi Mensah", "Lena Horvath", "Ravi Anand", "Sofia Brandt",
          "Yuki Tanaka", "Omar Haddad", "Clara Wendt", "Piet Jansen", "Amira Saleh", "Jonas Falk", "Nadia Petrova"]
ORGS = ["Nordwind Logistics", "Helio Bank", "Carta Foods", "Vantor Labs", "Bluegate Insurance", "Orbis Rail",
        "Kestrel Media", "Fenwick & Stone", "Tallis Energy", "Mirador Health", "the Harbor Council", "Quanta Retail"]
PLACES = ["Rotterdam", "Lyon", "Tampere", "Porto", "Gdansk", "Graz", "Leeds", "Bilbao", "Aarhus", "Trieste",
          "Kaunas", "Cork", "Utrecht", "Brno"]
DATES = ["March 3", "last Tuesday", "June 2024", "the first quarter", "Friday", "12 October", "spring 2025",
         "January 9", "next week", "the end of May"]
CLAUSES = [
    ("{PER} declined to comment", ("PER",)),
    ("{ORG} reported higher sales", ("ORG",)),
    ("it rained all day in {LOC}", ("LOC",)),
    ("the results are due {DATE}", ("DATE",)),
    ("{PER} joined {ORG}", ("PER", "ORG")),
    ("{ORG} moved to {LOC}", ("ORG", "LOC")),
    ("{PER} met {PER} in {LOC}", ("PER", "PER", "LOC")),
    ("{ORG} opened an office in {LOC} on {DATE}", ("ORG", "LOC", "DATE")),
    ("{PER} left {ORG} for {ORG}", ("PER", "ORG", "ORG")),
    ("shares of {ORG} fell in {LOC}", ("ORG", "LOC")),
    ("{PER} will speak in {LOC} on {DATE}", ("PER", "LOC", "DATE")),
    ("{ORG} hired {PER}", ("ORG", "PER")),
    ("the deal between {ORG} and {ORG} closed {DATE}", ("ORG", "ORG", "DATE")),
    ("{PER} was born in {LOC}", ("PER", "LOC")),
    ("flights from {LOC} to {LOC} resume {DATE}", ("LOC", "LOC", "DATE")),
    ("{PER} now leads {ORG}", ("PER", "ORG")),
]
POOLS = {"PER": PEOPLE, "ORG": ORGS, "LOC": PLACES, "DATE": DATES}
JOINERS = [", and ", "; meanwhile ", ", while ", ". Later, "]


def sentence(rng: random.Random) -> dict:
    parts, ents = [], []
    for _ in range(rng.choice([1, 1, 1, 1, 1, 2, 2, 3])):
        template, types = rng.choice(CLAUSES)
        values = [rng.choice(POOLS[t]) for t in types]
        text = template
        for t, v in zip(types, values):
            text = text.replace("{" + t + "}", v, 1)
        parts.append(text)
        ents += [{"text": v, "type": t} for t, v in zip(types, values)]
    out = parts[0]
    for p in parts[1:]:
        out += rng.choice(JOINERS) + p
    return {"sentence": out[0].upper() + out[1:] + ".", "entities": ents}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=400)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", default="recipes/data/examples/entities.jsonl")
    args = ap.parse_args()
    rng, seen, rows = random.Random(args.seed), set(), []
    while len(rows) < args.rows:
        row = sentence(rng)
        if row["sentence"] not in seen:
            seen.add(row["sentence"])
            rows.append(row)
    Path(args.out).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    print(f"wrote {args.out}: {len(rows)} rows")


if __name__ == "__main__":
    main()
