"""Extraction families: emails, a date, an amount (the ticket as JSON and entity tags: structured.py)."""

import datetime as dt
import re

from iftkit.data.tasks.base import Instance, Task, numbers_in, pick, same_number
from iftkit.data.tasks.lexicon import DOMAINS, FIRST_NAMES, LAST_NAMES, MONTHS, PRODUCTS

# the ticket and entity-tag families live in data/tasks/structured.py; importable from here as before
from iftkit.data.tasks.structured import EntityTags, TicketJSON

__all__ = ["EntityTags", "ExtractAmount", "ExtractDate", "ExtractEmails", "TicketJSON", "dates_in"]

_EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")


def _email(rng):
    first, last = pick(rng, FIRST_NAMES).lower(), pick(rng, LAST_NAMES).lower().replace("ü", "u")
    user = pick(rng, (f"{first}.{last}", f"{first}{rng.randint(1, 99)}", f"{first[0]}{last}", first))
    return f"{user}@{pick(rng, DOMAINS)}"


class ExtractEmails(Task):
    name = "extract_emails"
    category = "extract"
    description = "List every email address in a short message, in order of appearance."
    answer_format = "the addresses separated by `, ` in order of appearance (e.g. `a@x.com, b@y.org`)"
    tolerant_rule = "the set of email addresses found anywhere in the answer equals the gold set (case-insensitive)"
    format_re = r"EMAIL(, EMAIL)*".replace("EMAIL", r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
    phrasings = (
        "Extract all email addresses from the text. Separate them with commas.\n{text}",
        "List the email addresses mentioned below.\n{text}",
        "Text: {text}\nEmail addresses:",
        'Find every email in this message and write them comma-separated.\n"{text}"',
    )

    def make(self, rng, difficulty):
        n = min(difficulty, 3)
        emails = []
        while len(emails) < n:
            e = _email(rng)
            if e not in emails:
                emails.append(e)
        name = pick(rng, FIRST_NAMES)
        if n == 1:
            text = pick(
                rng,
                (
                    f"Please contact {emails[0]} for the invoice.",
                    f"Hi, it's {name}. Write to me at {emails[0]} anytime.",
                    f"Send the report to {emails[0]} by Friday.",
                ),
            )
        elif n == 2:
            text = f"Reach {name} at {emails[0]}; for billing, use {emails[1]}."
        else:
            text = f"Copy {emails[0]} and {emails[1]} on the thread. Our office (not {name} at home) is {emails[2]}."
        return Instance({"text": text}, ", ".join(emails), emails, text)

    def strict(self, prediction, gold):
        return prediction.strip() == ", ".join(gold)

    def tolerant(self, prediction, gold):
        found = {e.lower().rstrip(".") for e in _EMAIL_RE.findall(prediction)}
        return found == {g.lower() for g in gold}


_MONTH_RE = "|".join(m for m in MONTHS) + "|" + "|".join(m[:3] for m in MONTHS)


def dates_in(text: str) -> set:
    """Dates written as ISO, `March 5, 2023`, `5 March 2023`, `Mar 5th 2023` or `2023/03/05`."""
    found = set()
    for y, m, d in re.findall(r"\b(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})\b", text):
        found.add(_date(y, m, d))
    month_idx = {m.lower(): i + 1 for i, m in enumerate(MONTHS)}
    month_idx.update({m[:3].lower(): i + 1 for i, m in enumerate(MONTHS)})
    pat1 = rf"\b({_MONTH_RE})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})\b"
    pat2 = rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({_MONTH_RE})\.?,?\s+(\d{{4}})\b"
    for mon, d, y in re.findall(pat1, text, flags=re.I):
        found.add(_date(y, month_idx[mon.lower()], d))
    for d, mon, y in re.findall(pat2, text, flags=re.I):
        found.add(_date(y, month_idx[mon.lower()], d))
    found.discard(None)
    return found


def _date(y, m, d):
    try:
        return dt.date(int(y), int(m), int(d)).isoformat()
    except ValueError:
        return None


def _ordinal(d: int) -> str:
    return f"{d}{'th' if 10 <= d % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(d % 10, 'th')}"


class ExtractDate(Task):
    name = "extract_date"
    category = "extract"
    description = "Find the date asked for in a sentence and write it as YYYY-MM-DD."
    answer_format = "the date as `YYYY-MM-DD`, nothing else"
    format_re = r"\d{4}-\d{2}-\d{2}"
    tolerant_rule = (
        "the answer writes exactly one date (ISO, `March 5, 2023`, `5 March 2023`, "
        "`2023/03/05`...) and it is the gold date"
    )
    phrasings = (
        "What is the {what} in the text below? Write it as YYYY-MM-DD.\n{text}",
        "Extract the {what} and format it as YYYY-MM-DD.\n{text}",
        "Text: {text}\n{What} (YYYY-MM-DD):",
        'Read the message and give the {what} in ISO format.\n"{text}"',
    )

    def _pick_date(self, rng):
        return dt.date(rng.randint(2015, 2030), rng.randint(1, 12), rng.randint(1, 28))

    def _write(self, rng, d, difficulty):
        if difficulty <= 1:
            return f"{MONTHS[d.month - 1]} {d.day}, {d.year}"
        return pick(
            rng,
            (
                f"{d.day} {MONTHS[d.month - 1]} {d.year}",
                f"{MONTHS[d.month - 1][:3]} {_ordinal(d.day)}, {d.year}",
                f"{MONTHS[d.month - 1]} {d.day}, {d.year}",
            ),
        )

    def make(self, rng, difficulty):
        d = self._pick_date(rng)
        what = pick(rng, ("meeting date", "delivery date", "due date", "start date"))
        noun = what.split()[0]
        s = self._write(rng, d, difficulty)
        name = pick(rng, FIRST_NAMES)
        if difficulty <= 2:
            text = pick(
                rng,
                (
                    f"{name} confirmed that the {noun} is on {s}.",
                    f"Note: the {what} has been set to {s}.",
                    f"As agreed with {name}, the {noun} will be {s}.",
                ),
            )
        else:
            other = self._pick_date(rng)
            while other == d:
                other = self._pick_date(rng)
            text = f"The contract was signed on {self._write(rng, other, 2)}, and the {what} is {s}, per {name}."
        return Instance(
            {"text": text, "what": what, "What": what.capitalize()}, d.isoformat(), d.isoformat(), f"{what}|{text}"
        )

    def strict(self, prediction, gold):
        return prediction.strip() == gold

    def tolerant(self, prediction, gold):
        return dates_in(prediction) == {gold}


class ExtractAmount(Task):
    name = "extract_amount"
    category = "extract"
    description = "Give the total amount charged in a short receipt message, as a plain number."
    answer_format = "the amount with two decimals and no currency sign or thousands separator (e.g. `1234.50`)"
    format_re = r"\d+\.\d{2}"
    tolerant_rule = (
        "the gold amount appears as a number (currency signs and thousands commas allowed) "
        "and is the only, the first or the last number written"
    )
    phrasings = (
        "What is the total amount charged? Answer with the number only.\n{text}",
        "Extract the total from this receipt as a number with two decimals.\n{text}",
        "Receipt: {text}\nTotal amount:",
        'How much was the customer charged in total?\n"{text}"',
    )

    def make(self, rng, difficulty):
        cents = rng.randint(100, 99999 if difficulty <= 1 else 999999)
        total = cents / 100
        shown = f"${total:,.2f}"
        name, item = pick(rng, FIRST_NAMES), pick(rng, PRODUCTS)
        if difficulty <= 1:
            text = pick(
                rng,
                (
                    f"Your {item} order came to {shown}.",
                    f"{name} paid {shown} for a new {item}.",
                    f"Total charged: {shown}. Thank you!",
                ),
            )
        else:
            tax = round(total * pick(rng, (0.05, 0.1, 0.2)) / (1 + 0.1), 2)
            sub = round(total - tax, 2)
            if difficulty == 2:
                text = f"{name}'s {item}: total {shown} (tax included)."
            else:
                text = f"{item.capitalize()} for {name}. Subtotal ${sub:,.2f}, tax ${tax:,.2f}, total {shown}."
        ans = f"{total:.2f}"
        return Instance({"text": text}, ans, ans, text)

    def strict(self, prediction, gold):
        return prediction.strip() == gold

    def tolerant(self, prediction, gold):
        nums = numbers_in(prediction)
        g = float(gold)
        if not nums:
            return False
        return (len(set(nums)) == 1 and same_number(nums[0], g)) or same_number(nums[0], g) or same_number(nums[-1], g)


# this module's catalog families, in catalog order (collected by core/registry.py)
TASKS = (ExtractEmails(), ExtractDate(), ExtractAmount())
