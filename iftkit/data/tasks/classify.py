"""Classification families: sentiment of a short review, topic of a short news line."""

from iftkit.data.tasks.base import Instance, Task, find_json, normalize, pick
from iftkit.data.tasks.lexicon import CITIES, FIRST_NAMES, ORGS

_ITEMS = ("battery", "screen", "delivery", "hotel room", "pizza", "headphones", "support team",
          "app", "chair", "film", "keyboard", "coffee", "jacket", "printer", "blender", "tent",
          "backpack", "camera", "book", "mattress", "kettle", "bike", "lamp", "soup")
_POS = ("great", "excellent", "wonderful", "reliable", "comfortable", "fantastic", "superb",
        "delightful", "sturdy", "brilliant", "impressive", "lovely")
_NEG = ("terrible", "awful", "disappointing", "broken", "flimsy", "useless", "horrible",
        "noisy", "slow", "faulty", "dreadful", "poor")
_POS_VERB = ("I love it", "I would buy it again", "highly recommended", "worth every penny",
             "it made my day", "five stars from me")
_NEG_VERB = ("I want a refund", "never again", "avoid it", "a waste of money",
             "I regret buying it", "one star from me")


class Sentiment(Task):
    name = "sentiment"
    category = "classify"
    description = "Label a short product or service review as positive or negative."
    answer_format = "exactly `positive` or `negative` (lower case, nothing else)"
    format_re = r"positive|negative"
    labels = ("positive", "negative")
    tolerant_rule = ("the gold label word appears (any case, any wording, JSON included) and the "
                     "other label does not")
    phrasings = (
        "Classify the sentiment of this review as positive or negative.\nReview: {text}",
        "Is the following review positive or negative?\n{text}",
        "Review: {text}\nSentiment (positive/negative):",
        "What is the sentiment of this customer review? Answer with one word.\n\"{text}\"",
        "Decide whether the review below is positive or negative.\n{text}",
    )

    def make(self, rng, difficulty):
        label = pick(rng, ("positive", "negative"))
        good = label == "positive"
        item = pick(rng, _ITEMS)
        adj = pick(rng, _POS if good else _NEG)
        verdict = pick(rng, _POS_VERB if good else _NEG_VERB)
        if difficulty <= 1:
            text = pick(rng, (f"The {item} is {adj}.", f"The {item} is {adj}, {verdict}.",
                              f"{adj.capitalize()} {item}. {verdict.capitalize()}."))
        elif difficulty == 2:
            minor = pick(rng, _NEG if good else _POS)
            text = f"The {item} looked {minor} at first, but it is {adj}. {verdict.capitalize()}."
        else:
            opposite = pick(rng, _NEG if good else _POS)
            text = (f"I expected the {item} to be {opposite}, yet it turned out {adj}; "
                    f"honestly, {verdict}.")
        return Instance({"text": text}, label, label, text)

    def strict(self, prediction, gold):
        return prediction.strip() == gold

    def tolerant(self, prediction, gold):
        found = find_json(prediction)
        text = " ".join(str(v) for v in found.values()) if isinstance(found, dict) else prediction
        words = set(normalize(text).split())
        other = "negative" if gold == "positive" else "positive"
        return gold in words and other not in words


_TOPICS = {
    "sports": ("{team} beat {team2} 3-1 in the cup final", "{name} won the marathon in {city}",
               "the {city} team signed a new striker", "{name} broke the national swimming record",
               "the tennis open in {city} was stopped by rain", "{team} lost their home match"),
    "business": ("{org} reported higher quarterly profits", "shares of {org} fell after the results",
                 "{org} agreed to buy a rival for 2 billion", "the central bank kept rates unchanged",
                 "{org} will cut 300 jobs in {city}", "{org} opened a new factory near {city}"),
    "technology": ("{org} released a faster smartphone chip", "a new update fixes the app's login bug",
                   "{org} launched an AI assistant for developers", "engineers in {city} built a cheaper battery",
                   "the browser now blocks tracking cookies", "{org} unveiled a foldable laptop"),
    "health": ("doctors in {city} report fewer flu cases", "a new vaccine trial shows strong results",
               "walking daily lowers blood pressure, a study finds", "{city} hospital opens a new cancer ward",
               "the clinic extended its opening hours", "experts warn about too much sugar"),
    "weather": ("heavy snow is expected in {city} tonight", "a heatwave will hit {city} this weekend",
                "storms closed roads around {city}", "forecasters predict a dry spring",
                "strong winds knocked down trees in {city}", "flood warnings were issued for the coast"),
}
_LABELS = tuple(_TOPICS)


class Topic(Task):
    name = "topic"
    category = "classify"
    description = "Give the topic of a one-line news item: sports, business, technology, health or weather."
    answer_format = "exactly one of `sports`, `business`, `technology`, `health`, `weather` (lower case)"
    format_re = r"sports|business|technology|health|weather"
    labels = _LABELS
    tolerant_rule = "the gold topic word appears (any case or wording) and no other topic word does"
    phrasings = (
        "What is the topic of this news item? Choose from: sports, business, technology, health, weather.\n{text}",
        "Classify the headline into one topic (sports, business, technology, health, weather).\n{text}",
        "News: {text}\nTopic:",
        "Which section of the newspaper does this belong to?\n\"{text}\"",
    )

    def make(self, rng, difficulty):
        label = pick(rng, _LABELS)
        fill = dict(team=pick(rng, CITIES) + " United", team2=pick(rng, CITIES) + " Rovers",
                    name=pick(rng, FIRST_NAMES), city=pick(rng, CITIES), org=pick(rng, ORGS))
        text = pick(rng, _TOPICS[label]).format(**fill)
        text = text[0].upper() + text[1:] + "."
        if difficulty >= 2:
            when = pick(rng, ("on Monday", "this morning", "late on Friday", "last week", "yesterday"))
            text = text[:-1] + f" {when}."
        if difficulty >= 3:
            text += pick(rng, (" Fans and investors reacted online.", " More news follows after the break.",
                               " The report was shared widely.", " Officials declined to comment."))
        return Instance({"text": text}, label, label, text)

    def strict(self, prediction, gold):
        return prediction.strip() == gold

    def tolerant(self, prediction, gold):
        words = set(normalize(prediction).split())
        return gold in words and not any(t in words for t in _LABELS if t != gold)


# this module's catalog families, in catalog order (collected by core/registry.py)
TASKS = (Sentiment(), Topic())
