"""Structured extraction families: a support ticket as JSON, entity tags."""

import json
import re

from iftkit.data.tasks.base import Instance, Task, find_json, pick, strip_wrappers
from iftkit.data.tasks.lexicon import CITIES, FIRST_NAMES, LAST_NAMES, ORGS, PRODUCTS

_PROBLEMS = (
    "stopped working",
    "keeps restarting",
    "will not turn on",
    "is very slow",
    "shows an error",
    "lost its connection",
    "makes a strange noise",
    "overheats",
)
_URGENCY = {
    "high": (
        "This is urgent, our whole team is blocked.",
        "Please help ASAP, we cannot work.",
        "It is critical for tomorrow's launch.",
    ),
    "medium": ("I would like it fixed this week.", "Please look into it soon.", "It is annoying but I can cope."),
    "low": ("No rush, whenever you have time.", "It is not urgent at all.", "Low priority, just letting you know."),
}


class TicketJSON(Task):
    name = "ticket_json"
    category = "structured"
    description = "Turn a support ticket into a JSON object with the customer's name, the product and a priority."
    answer_format = (
        'one JSON object with exactly the keys "name", "product", "priority" '
        "(priority: high, medium or low), nothing around it"
    )
    tolerant_rule = (
        "a JSON object anywhere in the answer (code fence or prose around it), or "
        "`key: value` lines, whose name/product/priority match the gold (case-insensitive; "
        "extra keys allowed)"
    )
    phrasings = (
        "Convert this support ticket to JSON with the fields name, product and priority (high/medium/low).\n{text}",
        'Ticket: {text}\nReturn a JSON object with keys "name", "product", "priority".',
        "Extract name, product and priority from the ticket below as JSON.\n{text}",
        'Read the ticket and fill in the JSON fields name, product, priority.\n"{text}"',
    )

    def make(self, rng, difficulty):
        name = f"{pick(rng, FIRST_NAMES)} {pick(rng, LAST_NAMES)}"
        product = pick(rng, PRODUCTS)
        priority = pick(rng, ("high", "medium", "low"))
        problem = pick(rng, _PROBLEMS)
        urgency = pick(rng, _URGENCY[priority])
        if difficulty <= 1:
            text = f"Hi, I'm {name}. My {product} {problem}. Priority: {priority}."
        elif difficulty == 2:
            text = f"Hello, this is {name}. My {product} {problem}. {urgency}"
        else:
            other = pick(rng, [p for p in PRODUCTS if p != product])
            text = f"{name} here. The {other} is fine, but my {product} {problem}. {urgency}"
        gold = {"name": name, "product": product, "priority": priority}
        return Instance({"text": text}, json.dumps(gold, ensure_ascii=False), gold, text)

    def strict(self, prediction, gold):
        try:
            obj = json.loads(prediction.strip())
        except ValueError:
            return False
        return obj == gold

    def format_ok(self, prediction, gold=None):
        try:
            obj = json.loads(str(prediction).strip())
        except (ValueError, TypeError):
            return False
        return (
            isinstance(obj, dict)
            and set(obj) == {"name", "product", "priority"}
            and obj["priority"] in ("high", "medium", "low")
        )

    def tolerant(self, prediction, gold):
        obj = find_json(prediction)
        if not isinstance(obj, dict):
            obj = {}
            for m in re.finditer(r"[\"']?(\w+)[\"']?\s*[:=]\s*[\"']?([^\"',\n}]+)", prediction):
                obj.setdefault(m.group(1), m.group(2))
        low = {str(k).strip().lower(): " ".join(str(v).lower().split()).strip(" .") for k, v in obj.items()}
        return all(low.get(k) == str(v).lower() for k, v in gold.items())


_TYPE_ALIASES = {
    "person": "person",
    "persons": "person",
    "people": "person",
    "per": "person",
    "name": "person",
    "names": "person",
    "city": "city",
    "cities": "city",
    "loc": "city",
    "location": "city",
    "locations": "city",
    "place": "city",
    "places": "city",
    "org": "org",
    "orgs": "org",
    "organization": "org",
    "organizations": "org",
    "organisation": "org",
    "organisations": "org",
    "company": "org",
    "companies": "org",
}


def format_tags(gold: dict) -> str:
    return "; ".join(f"{t}: {', '.join(v)}" for t, v in gold.items())


def parse_tags(text: str) -> dict:
    """`person: A, B; city: C` (or lines, or JSON) -> {"person": {...}, "city": {...}}."""
    out: dict = {}
    obj = find_json(text)
    if isinstance(obj, dict):
        for k, v in obj.items():
            t = _TYPE_ALIASES.get(str(k).strip().lower())
            vals = v if isinstance(v, list) else [v]
            if t:
                out.setdefault(t, set()).update(str(x).strip().lower() for x in vals)
        return out
    if isinstance(obj, list):
        for item in obj:
            if isinstance(item, dict):
                t = _TYPE_ALIASES.get(str(item.get("type", item.get("label", ""))).strip().lower())
                if t:
                    out.setdefault(t, set()).add(str(item.get("text", item.get("entity", ""))).strip().lower())
        return out
    for seg in re.split(r"[;\n]", strip_wrappers(text)):
        if ":" not in seg:
            continue
        k, v = seg.split(":", 1)
        t = _TYPE_ALIASES.get(re.sub(r"[^a-z]", "", k.lower()))
        if t:
            vals = [x.strip(" .-*\"'").lower() for x in re.split(r",|\band\b", v)]
            out.setdefault(t, set()).update(x for x in vals if x and x != "none")
    return out


class EntityTags(Task):
    name = "entity_tags"
    category = "tagging"
    description = "Tag the people, cities (and organisations at difficulty 3) named in a sentence."
    answer_format = (
        "`person: A, B; city: C` (types in that order, names in order of appearance; `org: ...` last when present)"
    )
    format_re = r"person: [^;:\n]+; city: [^;:\n]+(; org: [^;:\n]+)?"
    tolerant_rule = (
        'each type\'s set of names matches, read from JSON ({"person": [...]}, or a list of '
        "{text, type}), lines or `type: names` segments; type aliases like PER/LOC/people accepted"
    )
    phrasings = (
        "Tag the named entities in this sentence by type (person, city{org_hint}).\n{text}",
        "List the people and places mentioned below, grouped by type.\n{text}",
        "Sentence: {text}\nEntities:",
        'Extract person and city names{org_hint2} from the sentence.\n"{text}"',
    )

    def make(self, rng, difficulty):
        p1 = f"{pick(rng, FIRST_NAMES)} {pick(rng, LAST_NAMES)}"
        c1 = pick(rng, CITIES)
        if difficulty <= 1:
            text = pick(
                rng, (f"{p1} moved to {c1} last year.", f"{p1} gave a talk in {c1}.", f"In {c1}, {p1} opened a bakery.")
            )
            gold = {"person": [p1], "city": [c1]}
            order_p = [p1]
        else:
            p2 = pick(rng, FIRST_NAMES)
            c2 = pick(rng, [c for c in CITIES if c != c1])
            text = pick(
                rng, (f"{p1} flew from {c1} to {c2} with {p2}.", f"{p2} met {p1} in {c1} before driving to {c2}.")
            )
            order_p = [p1, p2] if text.startswith(p1) else [p2, p1]
            order_c = [c1, c2]
            gold = {"person": order_p, "city": order_c}
        fields = {"org_hint": "", "org_hint2": ""}
        if difficulty >= 3:
            org = pick(rng, ORGS)
            text = text[:-1] + f" to visit {org}."
            gold["org"] = [org]
            fields = {"org_hint": ", org", "org_hint2": " and organisations"}
        fields["text"] = text
        return Instance(fields, format_tags(gold), gold, text)

    def strict(self, prediction, gold):
        return prediction.strip() == format_tags(gold)

    def tolerant(self, prediction, gold):
        found = parse_tags(prediction)
        want = {t: {x.lower() for x in v} for t, v in gold.items()}
        return {t: found.get(t, set()) for t in set(want) | set(found)} == {
            t: want.get(t, set()) for t in set(want) | set(found)
        }


# this module's catalog families, in catalog order (collected by core/registry.py)
TASKS = (TicketJSON(), EntityTags())
