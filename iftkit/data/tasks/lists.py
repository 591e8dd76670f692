"""List operations (sort, count) and open-ended-but-checkable generation (name N items, write a sentence)."""

import re

from iftkit.data.tasks.base import Instance, Task, numbers_in, pick, same_number, split_items, strip_wrappers
from iftkit.data.tasks.lexicon import CATEGORIES, PLURALS

_ALL_WORDS = tuple(sorted({w for v in CATEGORIES.values() for w in v}))


def _distinct(rng, pool, n):
    out = []
    while len(out) < n:
        w = pick(rng, pool)
        if w not in out:
            out.append(w)
    return out


class SortItems(Task):
    name = "sort_items"
    category = "list_ops"
    description = "Sort a short list of words alphabetically or numbers ascending/descending."
    answer_format = "the sorted items separated by `, `"
    format_re = r"[^,\n:]+(, [^,\n:]+)+"
    tolerant_rule = (
        "the items read from the answer (JSON list, lines, bullets or commas) are the gold sequence, case-insensitive"
    )
    phrasings = (
        "Sort {how}: {items}",
        "Put these {kind} in {how_noun} order: {items}",
        "List: {items}\nSorted {how}:",
        "Arrange the following {kind} {how}.\n{items}",
    )

    def make(self, rng, difficulty):
        n = 2 + 2 * difficulty
        if difficulty == 1 or rng.random() < 0.5:
            xs = _distinct(rng, _ALL_WORDS, n)
            out = sorted(xs)
            fields = {"how": "alphabetically", "how_noun": "alphabetical", "kind": "words"}
        else:
            xs = [str(x) for x in _distinct(rng, range(1, 100 * difficulty), n)]
            desc = difficulty >= 3 and rng.random() < 0.5
            out = sorted(xs, key=int, reverse=desc)
            fields = {
                "how": "from largest to smallest" if desc else "from smallest to largest",
                "how_noun": "descending" if desc else "ascending",
                "kind": "numbers",
            }
        fields["items"] = ", ".join(xs)
        return Instance(fields, ", ".join(out), out, f"{fields['how']}|{fields['items']}")

    def strict(self, prediction, gold):
        return prediction.strip() == ", ".join(gold)

    def tolerant(self, prediction, gold):
        return [x.lower() for x in split_items(prediction)] == [g.lower() for g in gold]


class CountItems(Task):
    name = "count_items"
    category = "list_ops"
    description = "Count the items of a list, the items of one kind, or the occurrences of a word."
    answer_format = "the count as digits only (e.g. `4`)"
    format_re = r"\d+"
    tolerant_rule = "the last number in the answer (digits or a number word) equals the count"
    phrasings = (
        "How many {what} are in this list? {items}",
        "Count the {what}: {items}",
        "List: {items}\nNumber of {what}:",
        "{items}\n\nHow many {what} are there? Answer with a number.",
    )

    def make(self, rng, difficulty):
        if difficulty <= 1:
            xs = _distinct(rng, _ALL_WORDS, rng.randint(2, 7))
            what, count = "items", len(xs)
        elif difficulty == 2:
            cat = pick(rng, tuple(CATEGORIES))
            inside = _distinct(rng, CATEGORIES[cat], rng.randint(1, 4))
            others = _distinct(rng, [w for w in _ALL_WORDS if w not in CATEGORIES[cat]], rng.randint(1, 4))
            xs = inside + others
            rng.shuffle(xs)
            what, count = PLURALS[cat], len(inside)
        else:
            w = pick(rng, _ALL_WORDS)
            k = rng.randint(1, 5)
            xs = [w] * k + _distinct(rng, [x for x in _ALL_WORDS if x != w], rng.randint(2, 5))
            rng.shuffle(xs)
            what, count = f"times the word '{w}' appears", k
            what = f"occurrences of '{w}'"
        items = ", ".join(xs)
        return Instance({"what": what, "items": items}, str(count), str(count), f"{what}|{items}")

    def strict(self, prediction, gold):
        return prediction.strip() == gold

    def tolerant(self, prediction, gold):
        nums = numbers_in(prediction)
        return bool(nums) and same_number(nums[-1], float(gold))


_NUM_WORD = {2: "two", 3: "three", 4: "four", 5: "five"}


class ListItems(Task):
    name = "list_items"
    category = "create"
    description = "Name N different members of a category (fruits, animals, sports...) other than the excluded ones."
    answer_format = "exactly N lines, one lower-case member per line, no bullets or numbering"
    format_re = r"[a-z]+( [a-z]+)?(\n[a-z]+( [a-z]+)?)+"
    tolerant_rule = (
        "exactly N different members of the category, none of the excluded ones, are named "
        "anywhere in the answer (bullets, numbering, commas or prose allowed)"
    )
    phrasings = (
        "Name {n_word} {plural} other than {excluded}, one per line.",
        "List {n} different {plural}. Do not use {excluded}.",
        "Give me {n_word} examples of {plural} (not {excluded}). Put each on its own line.",
        "Write down {n_word} {plural}, excluding {excluded}.",
    )

    def make(self, rng, difficulty):
        cat = pick(rng, tuple(CATEGORIES))
        n = rng.randint(2, 2 + difficulty)
        members = [w for w in CATEGORIES[cat] if w != "gray"]
        excluded = sorted(_distinct(rng, members, 1 + (difficulty >= 2)))
        picked = _distinct(rng, [m for m in members if m not in excluded], n)
        gold = {"category": cat, "n": n, "excluded": excluded}
        fields = {"n": n, "n_word": _NUM_WORD[n], "plural": PLURALS[cat], "excluded": " or ".join(excluded)}
        # the key is the request, so a test request never reappears in training with another answer
        return Instance(fields, "\n".join(picked), gold, f"{cat}|{n}|{'|'.join(excluded)}")

    def strict(self, prediction, gold):
        lines = prediction.strip().split("\n")
        ok = set(CATEGORIES[gold["category"]]) - set(gold.get("excluded", ()))
        return (
            len(lines) == gold["n"]
            and all(ln.strip() == ln and ln in ok for ln in lines)
            and len(set(lines)) == len(lines)
        )

    def tolerant(self, prediction, gold):
        text = prediction.lower()
        members = CATEGORIES[gold["category"]]
        named = {m for m in members if re.search(rf"\b{re.escape(m)}(e?s)?\b", text)}
        if {"grey", "gray"} <= named:
            named.discard("gray")
        return len(named) == gold["n"] and not named & set(gold.get("excluded", ()))


_STARTS = (
    "Every morning",
    "Last summer",
    "In the city",
    "After the storm",
    "On my way home",
    "Late at night",
    "Before breakfast",
    "At the market",
    "During the trip",
    "Once a week",
    "On Sunday",
    "Years ago",
    "Near the station",
    "In the morning",
    "After school",
    "By the sea",
    "Every winter",
    "Just yesterday",
    "At my desk",
    "Under a grey sky",
)
_PHRASES = {
    "river": "we walked along the river",
    "lantern": "a lantern lit the path",
    "coffee": "I drank strong coffee",
    "bicycle": "my bicycle got a flat tyre",
    "garden": "the garden smelled of rain",
    "window": "I opened the window",
    "music": "soft music played downstairs",
    "bread": "we baked fresh bread",
    "letter": "she wrote a long letter",
    "bridge": "the old bridge creaked",
    "train": "the train was late again",
    "umbrella": "I forgot my umbrella",
    "cat": "the cat slept on the sofa",
    "market": "the market was crowded",
    "mountain": "the mountain looked close",
    "candle": "a candle burned on the table",
    "notebook": "I filled a notebook with ideas",
    "song": "we sang an old song",
    "friend": "a friend called me",
    "book": "I finished a good book",
    "kite": "children flew a kite",
    "soup": "we shared a bowl of soup",
    "map": "we studied a paper map",
    "ticket": "I lost my ticket",
    "piano": "someone played the piano",
    "sunset": "the sunset turned pink",
}


class ConstrainedSentence(Task):
    name = "constrained_sentence"
    category = "write"
    description = (
        "Write one sentence that starts with given words and uses a given word (more constraints with difficulty)."
    )
    answer_format = (
        "one sentence on one line that starts exactly with the given words, contains the word, "
        "ends with the required mark (`.` or `!`), within the word limit"
    )
    format_re = r"[^\n:]+[.!]"
    tolerant_rule = (
        "the answer (quotes stripped) starts with the given words and contains the word, any case; "
        "at most three sentences; ending mark and word limit not checked"
    )
    phrasings = (
        'Write one sentence that starts with "{start}" and includes the word "{word}"{extra}.',
        'Compose a single sentence beginning with "{start}". Use the word "{word}"{extra}.',
        'Sentence task: start with "{start}", include "{word}"{extra}.',
    )

    def make(self, rng, difficulty):
        start, word = pick(rng, _STARTS), pick(rng, tuple(_PHRASES))
        end = "!" if difficulty >= 2 else "."
        body = f"{start}, {_PHRASES[word]}{end}"
        max_words = len(body.split()) + 3 if difficulty >= 3 else 25
        extra = ""
        if difficulty >= 2:
            extra = ", ending with an exclamation mark"
        if difficulty >= 3:
            extra += f", in at most {max_words} words"
        gold = {"start": start, "word": word, "end": end, "max_words": max_words}
        return Instance({"start": start, "word": word, "extra": extra}, body, gold, f"{start}|{word}|{end}|{max_words}")

    def strict(self, prediction, gold):
        p = prediction.strip()
        return (
            "\n" not in p
            and p.startswith(gold["start"])
            and p.endswith(gold["end"])
            and re.search(rf"\b{re.escape(gold['word'])}\b", p, flags=re.I) is not None
            and len(re.findall(r"[.!?](\s|$)", p)) == 1
            and len(p.split()) <= gold["max_words"]
        )

    def tolerant(self, prediction, gold):
        p = strip_wrappers(prediction)
        return (
            p.lower().startswith(gold["start"].lower())
            and re.search(rf"\b{re.escape(gold['word'])}", p, flags=re.I) is not None
            and len(re.findall(r"[.!?](\s|$)", p)) <= 3
        )


# this module's catalog families, in catalog order (collected by core/registry.py)
TASKS = (SortItems(), CountItems(), ListItems(), ConstrainedSentence())
