"""Reading families: answer from a given passage; write a headline for a short news passage."""

import re

from iftkit.data.tasks.base import Instance, Task, contains_phrase, normalize, pick, strip_wrappers
from iftkit.data.tasks.lexicon import CITIES, FIRST_NAMES, LAST_NAMES, ORGS

_PLACES = (
    "Orion Cafe",
    "Blue Door Bakery",
    "Harbour Museum",
    "Maple Library",
    "Northgate Gym",
    "Lantern Theatre",
    "Willow Clinic",
    "Copper Pot Diner",
    "Skyline Hotel",
    "Green Leaf Market",
    "Riverside School",
    "Falcon Bookshop",
    "Stonebridge Gallery",
    "Sunset Cinema",
)
_KINDS = {
    "Cafe": "cafe",
    "Bakery": "bakery",
    "Museum": "museum",
    "Library": "library",
    "Gym": "gym",
    "Theatre": "theatre",
    "Clinic": "clinic",
    "Diner": "diner",
    "Hotel": "hotel",
    "Market": "market",
    "School": "school",
    "Bookshop": "bookshop",
    "Gallery": "gallery",
    "Cinema": "cinema",
}
_KNOWN = (
    "rooftop garden",
    "weekly jazz nights",
    "free workshops",
    "huge windows",
    "friendly staff",
    "old clock tower",
    "late opening hours",
    "lemon cake",
    "rare maps",
    "quiet reading room",
)


class ContextQA(Task):
    name = "context_qa"
    category = "context_answer"
    description = "Answer a question from a short passage with the exact span (who/when/where/what)."
    answer_format = "the answer span only, as written in the passage"
    format_re = r"[^\n.!?]{1,60}"
    tolerant_rule = (
        "the normalised gold span (lower case, no punctuation or articles) appears as whole "
        "words in the normalised answer"
    )
    phrasings = (
        "Answer the question using the passage.\nPassage: {passage}\nQuestion: {question}",
        "{passage}\n\n{question}",
        "Read this and answer briefly.\n{passage}\nQ: {question}\nA:",
        "Context: {passage}\nBased only on the context, {question_lc}",
    )

    def _facts(self, rng, place):
        return {
            "person": f"{pick(rng, FIRST_NAMES)} {pick(rng, LAST_NAMES)}",
            "year": str(rng.randint(1950, 2022)),
            "city": pick(rng, CITIES),
            "known": pick(rng, _KNOWN),
        }

    def _passage(self, place, f):
        kind = _KINDS[place.split()[-1]]
        return (
            f"The {place} is a small {kind} in {f['city']}. It was opened in {f['year']} by "
            f"{f['person']}. It is best known for its {f['known']}."
        )

    def make(self, rng, difficulty):
        place = pick(rng, _PLACES)
        f = self._facts(rng, place)
        passage = self._passage(place, f)
        target = place
        if difficulty >= 2:
            other = pick(rng, [p for p in _PLACES if p != place])
            g = self._facts(rng, other)
            extra = self._passage(other, g)
            passage = f"{passage} {extra}" if rng.random() < 0.5 else f"{extra} {passage}"
            if difficulty >= 3 and rng.random() < 0.5:
                target, f = other, g
        slot = pick(rng, ("person", "year", "city", "known"))
        question = {
            "person": f"Who opened the {target}?",
            "year": f"In which year did the {target} open?",
            "city": f"In which city is the {target}?",
            "known": f"What is the {target} best known for?",
        }[slot]
        ans = f[slot]
        fields = {"passage": passage, "question": question, "question_lc": question[0].lower() + question[1:]}
        return Instance(fields, ans, ans, f"{question}|{passage}")

    def strict(self, prediction, gold):
        return prediction.strip() == gold

    def tolerant(self, prediction, gold):
        return contains_phrase(normalize(prediction), normalize(gold))


# (verb, third person, object, head-noun stem)
_ACTIONS = (
    ("open", "opens", "new branches", "branch"),
    ("hire", "hires", "new engineers", "engineer"),
    ("close", "closes", "old stores", "store"),
    ("launch", "launches", "electric buses", "bus"),
    ("build", "builds", "solar farms", "farm"),
    ("cut", "cuts", "ticket prices", "price"),
    ("expand", "expands", "delivery vans", "van"),
    ("test", "tests", "driverless trucks", "truck"),
)
_EFFECTS = (
    "create hundreds of jobs",
    "save money for customers",
    "take about two years",
    "please investors",
    "worry some unions",
    "change the local market",
)


class Headline(Task):
    name = "headline"
    category = "summarize"
    description = "Write a headline for a three-sentence news passage."
    answer_format = (
        "`<Organisation> to <verb> <number> <object> in <City>` (e.g. `Norbank to open 12 new branches in Lyon`)"
    )
    format_re = r"[A-Z][\w ]* to [a-z]+ \d+ [a-z ]+ in [A-Z][\w ]*"
    tolerant_rule = (
        "documented headline rule: one line of at most 12 words that names the organisation, "
        "uses the action verb (any form) and the object's head noun, and has no other sentence"
    )
    phrasings = (
        "Write a headline for this news story.\n{text}",
        "Summarize the passage as a one-line headline.\n{text}",
        "News: {text}\nHeadline:",
        'Give this article a short title.\n"{text}"',
    )

    def make(self, rng, difficulty):
        org, city = pick(rng, ORGS), pick(rng, CITIES)
        verb, verb3, obj, head = pick(rng, _ACTIONS)
        n = rng.randint(2, 40)
        day = pick(rng, ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday"))
        text = f"{org} said on {day} that it {'will ' + verb} {n} {obj} in {city}."
        if difficulty >= 2:
            text += f" The plan is expected to {pick(rng, _EFFECTS)}."
        if difficulty >= 3:
            spokes = f"{pick(rng, FIRST_NAMES)} {pick(rng, LAST_NAMES)}"
            text += f' "We are ready," said spokesperson {spokes}.'
        headline = f"{org} to {verb} {n} {obj} in {city}"
        gold = {"headline": headline, "org": org, "verb": verb, "noun": head, "max_words": 12}
        return Instance({"text": text}, headline, gold, text)

    def strict(self, prediction, gold):
        return prediction.strip() == gold["headline"]

    def tolerant(self, prediction, gold):
        text = strip_wrappers(prediction).strip()
        text = re.sub(r"^(headline|title)\s*:\s*", "", text, flags=re.I).strip().strip("\"'*")
        if "\n" in text or len(text.split()) > gold.get("max_words", 12):
            return False
        if re.search(r"[.!?]\s+\S", text):  # more than one sentence
            return False
        norm = normalize(text)
        verb = gold["verb"][:-1] if gold["verb"].endswith("e") else gold["verb"]
        return (
            contains_phrase(norm, normalize(gold["org"]))
            and re.search(rf"\b{re.escape(verb)}\w*", norm) is not None
            and re.search(rf"\b{re.escape(gold['noun'])}\w*", norm) is not None
        )


# this module's catalog families, in catalog order (collected by core/registry.py)
TASKS = (ContextQA(), Headline())
