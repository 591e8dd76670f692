"""Rewrite families: change the case of a sentence, reverse the order of words."""

import re

from iftkit.data.tasks.base import Instance, Task, pick, strip_wrappers
from iftkit.data.tasks.lexicon import CATEGORIES, CITIES, FIRST_NAMES

_SUBJECTS = ("the old train", "my neighbour", "a small bird", "the new teacher", "our team",
             "the red kite", "this recipe", "the night bus", "her brother", "the museum")
_VERBS = ("arrives", "sings", "waits", "works", "rests", "opens", "closes", "starts", "stops", "shines")
_TAILS = ("every morning", "near the river", "after lunch", "in the rain", "before dawn",
          "on weekends", "at the station", "without a sound", "in {city}", "with {name}")


def sentence(rng, words: int) -> str:
    s = f"{pick(rng, _SUBJECTS)} {pick(rng, _VERBS)} " + pick(rng, _TAILS).format(
        city=pick(rng, CITIES), name=pick(rng, FIRST_NAMES))
    while len(s.split()) < words:
        s += " " + pick(rng, _TAILS).format(city=pick(rng, CITIES), name=pick(rng, FIRST_NAMES))
    return s


def title_case(s: str) -> str:
    return " ".join(w[:1].upper() + w[1:].lower() for w in s.split(" "))


_CASES = {"uppercase": str.upper, "lowercase": str.lower, "title case": title_case}


def _collapse(s: str) -> str:
    return " ".join(s.split())


class ChangeCase(Task):
    name = "change_case"
    category = "rewrite"
    description = "Rewrite a sentence in uppercase, lowercase or title case (every word capitalised)."
    answer_format = "the rewritten sentence only, same words and punctuation"
    format_re = r"[^\n:\"]+\."
    tolerant_rule = ("the rewritten sentence (case-exact, spaces collapsed, trailing period optional) "
                     "appears in the answer, e.g. after `Here it is:` or inside quotes")
    phrasings = (
        "Rewrite the following text in {case}:\n{text}",
        "Convert to {case}: {text}",
        "{text}\n\nReturn this sentence in {case}, nothing else.",
        "Change the casing of this sentence to {case}.\n\"{text}\"",
    )

    def make(self, rng, difficulty):
        case = pick(rng, tuple(_CASES))
        base = sentence(rng, 3 + 2 * difficulty)
        # the input is written in a case different from the target
        src = pick(rng, [f(base) for c, f in _CASES.items() if c != case] + [base.capitalize()])
        src += "."
        out = _CASES[case](src)
        return Instance({"case": case, "text": src}, out, out, f"{case}|{src}")

    def strict(self, prediction, gold):
        return prediction.strip() == gold

    def tolerant(self, prediction, gold):
        pred, want = _collapse(strip_wrappers(prediction)), _collapse(gold).rstrip(".")
        return want in pred


class ReverseWords(Task):
    name = "reverse_words"
    category = "rewrite"
    description = "Write the given words in reverse order."
    answer_format = "the words in reverse order separated by single spaces, same case, no punctuation"
    format_re = r"[a-z]+( [a-z]+)+"
    tolerant_rule = "the reversed word sequence (case-insensitive, punctuation ignored) appears in the answer"
    phrasings = (
        "Reverse the order of these words: {text}",
        "Write the following words backwards (last word first): {text}",
        "Words: {text}\nReversed:",
        "Put the words below in reverse order.\n{text}",
    )

    def make(self, rng, difficulty):
        n = 2 + 2 * difficulty
        pool = [w for cat in CATEGORIES.values() for w in cat]
        words = []
        while len(words) < n:
            w = pick(rng, pool)
            if w not in words:
                words.append(w)
        text = " ".join(words)
        out = " ".join(reversed(words))
        return Instance({"text": text}, out, out, text)

    def strict(self, prediction, gold):
        return prediction.strip() == gold

    def tolerant(self, prediction, gold):
        pred = re.sub(r"[^\w\s]", " ", strip_wrappers(prediction).lower()).split()
        want = gold.lower().split()
        return any(pred[i:i + len(want)] == want for i in range(len(pred) - len(want) + 1))


# this module's catalog families, in catalog order (collected by core/registry.py)
TASKS = (ChangeCase(), ReverseWords())
