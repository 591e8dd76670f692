"""Knowledge families: word translation from a small lexicon, closed-book facts (memory answer)."""

import re

from iftkit.data.tasks.base import Instance, Task, normalize, pick, strip_accents, strip_wrappers

# english: (french, spanish, german)
_LEXICON = {
    "cat": ("chat", "gato", "Katze"),
    "dog": ("chien", "perro", "Hund"),
    "house": ("maison", "casa", "Haus"),
    "water": ("eau", "agua", "Wasser"),
    "bread": ("pain", "pan", "Brot"),
    "book": ("livre", "libro", "Buch"),
    "red": ("rouge", "rojo", "rot"),
    "blue": ("bleu", "azul", "blau"),
    "green": ("vert", "verde", "grün"),
    "black": ("noir", "negro", "schwarz"),
    "white": ("blanc", "blanco", "weiß"),
    "sun": ("soleil", "sol", "Sonne"),
    "moon": ("lune", "luna", "Mond"),
    "tree": ("arbre", "árbol", "Baum"),
    "apple": ("pomme", "manzana", "Apfel"),
    "milk": ("lait", "leche", "Milch"),
    "cheese": ("fromage", "queso", "Käse"),
    "car": ("voiture", "coche", "Auto"),
    "school": ("école", "escuela", "Schule"),
    "friend": ("ami", "amigo", "Freund"),
    "city": ("ville", "ciudad", "Stadt"),
    "one": ("un", "uno", "eins"),
    "two": ("deux", "dos", "zwei"),
    "three": ("trois", "tres", "drei"),
    "four": ("quatre", "cuatro", "vier"),
    "five": ("cinq", "cinco", "fünf"),
    "ten": ("dix", "diez", "zehn"),
    "Monday": ("lundi", "lunes", "Montag"),
    "Friday": ("vendredi", "viernes", "Freitag"),
    "Sunday": ("dimanche", "domingo", "Sonntag"),
    "big": ("grand", "grande", "groß"),
    "small": ("petit", "pequeño", "klein"),
    "hot": ("chaud", "caliente", "heiß"),
    "cold": ("froid", "frío", "kalt"),
    "thank you": ("merci", "gracias", "danke"),
    "good morning": ("bonjour", "buenos días", "guten Morgen"),
    "good night": ("bonne nuit", "buenas noches", "gute Nacht"),
    "please": ("s'il vous plaît", "por favor", "bitte"),
    "yes": ("oui", "sí", "ja"),
    "no": ("non", "no", "nein"),
    "window": ("fenêtre", "ventana", "Fenster"),
    "door": ("porte", "puerta", "Tür"),
    "fish": ("poisson", "pescado", "Fisch"),
    "bird": ("oiseau", "pájaro", "Vogel"),
}
_LANGS = ("French", "Spanish", "German")
_WORDS = tuple(_LEXICON)


class TranslateWords(Task):
    name = "translate_words"
    category = "translate"
    description = "Translate one to four English words or short phrases into French, Spanish or German."
    answer_format = "the translations only, in the given order, separated by `, ` (German nouns capitalised)"
    format_re = r"[^\W\d][^,\n.!?:]*(, [^\W\d][^,\n.!?:]*)*"
    tolerant_rule = "every translation appears as whole words, in order, case- and accent-insensitive"
    phrasings = (
        "Translate into {lang}: {words}",
        "What are the {lang} words for: {words}? Keep the order.",
        "English: {words}\n{lang}:",
        "How do you say {words} in {lang}? Give only the translation.",
    )

    def make(self, rng, difficulty):
        n = rng.randint(difficulty, difficulty + 1)
        words = []
        while len(words) < n:
            w = pick(rng, _WORDS)
            if w not in words:
                words.append(w)
        li = rng.randrange(3)
        ans = ", ".join(_LEXICON[w][li] for w in words)
        shown = ", ".join(words)
        return Instance({"words": shown, "lang": _LANGS[li]}, ans, ans, f"{shown}|{li}")

    def strict(self, prediction, gold):
        return prediction.strip() == gold

    def tolerant(self, prediction, gold):
        pred = " " + _plain(strip_wrappers(prediction)) + " "
        pos = 0
        for part in gold.split(", "):
            i = pred.find(" " + _plain(part) + " ", pos)
            if i < 0:
                return False
            pos = i + 1
        return True


def _plain(s: str) -> str:
    return normalize(strip_accents(s).replace("ß", "ss"))


_CAPITALS = {
    "France": "Paris",
    "Japan": "Tokyo",
    "Italy": "Rome",
    "Spain": "Madrid",
    "Germany": "Berlin",
    "Egypt": "Cairo",
    "Canada": "Ottawa",
    "Australia": "Canberra",
    "Brazil": "Brasília",
    "Kenya": "Nairobi",
    "Norway": "Oslo",
    "Sweden": "Stockholm",
    "Poland": "Warsaw",
    "Greece": "Athens",
    "Portugal": "Lisbon",
    "Ireland": "Dublin",
    "Austria": "Vienna",
    "Peru": "Lima",
    "Chile": "Santiago",
    "Argentina": "Buenos Aires",
    "Mexico": "Mexico City",
    "India": "New Delhi",
    "China": "Beijing",
    "Russia": "Moscow",
    "Turkey": "Ankara",
    "Thailand": "Bangkok",
    "Vietnam": "Hanoi",
    "Morocco": "Rabat",
    "Finland": "Helsinki",
    "Denmark": "Copenhagen",
    "Hungary": "Budapest",
    "Czechia": "Prague",
    "Belgium": "Brussels",
    "Netherlands": "Amsterdam",
    "Switzerland": "Bern",
    "Ghana": "Accra",
    "Nigeria": "Abuja",
    "Colombia": "Bogotá",
    "Cuba": "Havana",
    "South Korea": "Seoul",
    "Indonesia": "Jakarta",
    "Iran": "Tehran",
    "Iceland": "Reykjavik",
    "New Zealand": "Wellington",
    "Ukraine": "Kyiv",
    "Romania": "Bucharest",
    "Croatia": "Zagreb",
}
_SYMBOLS = {
    "gold": "Au",
    "silver": "Ag",
    "iron": "Fe",
    "oxygen": "O",
    "hydrogen": "H",
    "carbon": "C",
    "sodium": "Na",
    "potassium": "K",
    "copper": "Cu",
    "lead": "Pb",
    "helium": "He",
    "nitrogen": "N",
    "calcium": "Ca",
    "zinc": "Zn",
    "tin": "Sn",
    "mercury": "Hg",
    "neon": "Ne",
    "sulfur": "S",
    "uranium": "U",
    "chlorine": "Cl",
}
_OPPOSITES = {
    "hot": "cold",
    "big": "small",
    "fast": "slow",
    "early": "late",
    "happy": "sad",
    "open": "closed",
    "light": "dark",
    "full": "empty",
    "strong": "weak",
    "rich": "poor",
    "wet": "dry",
    "loud": "quiet",
    "young": "old",
    "hard": "soft",
    "high": "low",
    "thick": "thin",
    "cheap": "expensive",
    "clean": "dirty",
    "first": "last",
    "inside": "outside",
    "above": "below",
    "win": "lose",
    "buy": "sell",
    "push": "pull",
}
_PLANETS = ("Mercury", "Venus", "Earth", "Mars", "Jupiter", "Saturn", "Uranus", "Neptune")
_ORD = (
    "first",
    "second",
    "third",
    "fourth",
    "fifth",
    "sixth",
    "seventh",
    "eighth",
    "ninth",
    "tenth",
    "eleventh",
    "twelfth",
)
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def _facts(difficulty):
    facts = [(f"What is the capital of {c}?", a) for c, a in _CAPITALS.items()]
    facts += [(f'What is the opposite of "{w}"?', a) for w, a in _OPPOSITES.items()]
    facts += [(f"What is the chemical symbol for {e}?", s) for e, s in _SYMBOLS.items()]
    facts += [(f"Which month is the {_ORD[i]} month of the year?", m) for i, m in enumerate(_MONTHS)]
    facts += [(f"Which planet is {_ORD[i]} from the Sun?", p) for i, p in enumerate(_PLANETS)]
    if difficulty >= 2:  # reverse look-ups
        facts += [(f"{a} is the capital of which country?", c) for c, a in _CAPITALS.items()]
        facts += [(f"Which element has the chemical symbol {s}?", e) for e, s in _SYMBOLS.items()]
    if difficulty >= 3:
        facts += [(f"What number is {m} among the months of the year?", str(i + 1)) for i, m in enumerate(_MONTHS)]
        facts += [(f"Counting from the Sun, what number planet is {p}?", str(i + 1)) for i, p in enumerate(_PLANETS)]
    return facts


_FACTS = {d: _facts(d) for d in (1, 2, 3)}


class FactQA(Task):
    name = "fact_qa"
    category = "memory_answer"
    description = ("Answer a closed-book fact question (capitals, opposites, chemical "
                   "symbols, months, planets; reverse look-ups at higher difficulty).")
    answer_format = "the answer only, capitalised as a name (e.g. `Paris`, `Au`, `cold`)"
    format_re = r"[^\n.!?:]{1,30}"
    tolerant_rule = "the answer appears as whole words, case- and accent-insensitive (symbols: case-sensitive)"
    phrasings = (
        "{question}",
        "Answer from memory: {question}",
        "Q: {question}\nA:",
        "Quick quiz. {question} Reply with just the answer.",
    )

    def make(self, rng, difficulty):
        question, answer = pick(rng, _FACTS[min(max(difficulty, 1), 3)])
        return Instance({"question": question}, answer, answer, question)

    def strict(self, prediction, gold):
        return prediction.strip() == gold

    def tolerant(self, prediction, gold):
        pred = strip_wrappers(prediction)
        if len(gold) <= 2 and gold[:1].isupper():  # chemical symbols: case matters (Co vs CO)
            return re.search(rf"(?<![A-Za-z]){re.escape(gold)}(?![a-z])", pred) is not None
        return f" {normalize(gold)} " in f" {normalize(pred)} "


# this module's catalog families, in catalog order (collected by core/registry.py)
TASKS = (TranslateWords(), FactQA())
