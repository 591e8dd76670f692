"""Logic and arithmetic families: arithmetic, ordering puzzles, predicting a Python snippet's output.

The code family's answers are computed here from the snippet's parameters; no generated or
predicted code is ever executed.
"""

import re

from iftkit.data.tasks.base import Instance, Task, normalize, numbers_in, pick, same_number, strip_wrappers
from iftkit.data.tasks.lexicon import CATEGORIES, FIRST_NAMES


def _last_number_is(prediction: str, gold: str) -> bool:
    nums = numbers_in(prediction)
    return bool(nums) and same_number(nums[-1], float(gold))


class Arithmetic(Task):
    name = "arithmetic"
    category = "logic"
    description = "Compute a small arithmetic expression (difficulty: more digits, more operations)."
    answer_format = "the integer result only (e.g. `42`)"
    format_re = r"-?\d+"
    tolerant_rule = "the last number in the answer (digits or a number word) equals the result"
    phrasings = (
        "What is {expr}?",
        "Compute {expr}. Give only the number.",
        "{expr} =",
        "Calculate the value of {expr}.",
        "Solve: {expr}",
    )

    def make(self, rng, difficulty):
        if difficulty <= 1:
            a, b = rng.randint(2, 60), rng.randint(2, 40)
            op = pick(rng, ("+", "-"))
            expr = f"{a} {op} {b}"
        elif difficulty == 2:
            a, b = rng.randint(10, 99), rng.randint(2, 12)
            op = pick(rng, ("+", "-", "*"))
            expr = f"{a} {op} {b}"
        else:
            a, b, c = rng.randint(2, 50), rng.randint(2, 12), rng.randint(2, 12)
            expr = pick(rng, (f"{a} + {b} * {c}", f"{a} - {b} * {c}", f"({a} + {b}) * {c}"))
        value = _calc(expr)
        return Instance({"expr": expr}, str(value), str(value), expr)

    def tolerant(self, prediction, gold):
        return _last_number_is(prediction, gold)


def _calc(expr: str) -> int:
    """Evaluate + - * and parentheses on integers (our own generated expressions only)."""
    tokens = re.findall(r"\d+|[-+*()]", expr)
    pos = 0

    def atom():
        nonlocal pos
        tok = tokens[pos]
        pos += 1
        if tok == "(":
            v = add()
            pos += 1
            return v
        return int(tok)

    def mul():
        nonlocal pos
        v = atom()
        while pos < len(tokens) and tokens[pos] == "*":
            pos += 1
            v *= atom()
        return v

    def add():
        nonlocal pos
        v = mul()
        while pos < len(tokens) and tokens[pos] in "+-":
            op = tokens[pos]
            pos += 1
            v = v + mul() if op == "+" else v - mul()
        return v

    return add()


_RELATIONS = (("older", "younger", "oldest", "youngest"), ("taller", "shorter", "tallest", "shortest"),
              ("faster", "slower", "fastest", "slowest"), ("richer", "poorer", "richest", "poorest"))


class CompareLogic(Task):
    name = "compare_logic"
    category = "logic"
    description = "Chain comparison facts (A is taller than B...) and name the extreme person."
    answer_format = "the person's name only"
    format_re = r"[A-Z][a-z]+"
    tolerant_rule = "the first candidate name mentioned in the answer is the gold name"
    phrasings = (
        "{facts} Who is the {ask}?",
        "Read the facts and answer with a name.\n{facts}\nQuestion: who is the {ask}?",
        "Facts: {facts}\nThe {ask} person is:",
        "{facts}\nWhich of them is the {ask}?",
    )

    def make(self, rng, difficulty):
        n = difficulty + 1
        people = []
        while len(people) < n:
            p = pick(rng, FIRST_NAMES)
            if p not in people:
                people.append(p)
        more, less, most, least = pick(rng, _RELATIONS)
        # people[0] > people[1] > ... ; state adjacent facts, shuffled at difficulty 3
        facts = []
        for a, b in zip(people, people[1:]):
            facts.append(f"{a} is {more} than {b}." if rng.random() < 0.6 else f"{b} is {less} than {a}.")
        if difficulty >= 3:
            rng.shuffle(facts)
        ask_most = difficulty < 2 or rng.random() < 0.5
        ask = most if ask_most else least
        answer = people[0] if ask_most else people[-1]
        text = " ".join(facts)
        gold = {"answer": answer, "candidates": people}
        return Instance({"facts": text, "ask": ask}, answer, gold, f"{ask}|{text}")

    def strict(self, prediction, gold):
        return prediction.strip() == gold["answer"]

    def tolerant(self, prediction, gold):
        first, pos = None, None
        for c in gold["candidates"]:
            m = re.search(rf"\b{re.escape(c)}\b", prediction, flags=re.I)
            if m and (pos is None or m.start() < pos):
                first, pos = c, m.start()
        return first == gold["answer"]


class CodeOutput(Task):
    name = "code_output"
    category = "code"
    description = "Say what a short Python snippet prints (answers computed, never executed)."
    answer_format = "exactly what the snippet prints, nothing else"
    format_re = r"[^\s:`]+"
    tolerant_rule = ("numbers: the last number in the answer equals the output; text: the output appears "
                     "as a whole word, optionally in quotes or backticks")
    phrasings = (
        "What does this Python code print?\n{code}",
        "Predict the output of the following Python snippet.\n{code}",
        "```python\n{code}\n```\nOutput:",
        "Run this code in your head and give its output only:\n{code}",
    )

    def make(self, rng, difficulty):
        if difficulty <= 1:
            kind = rng.randrange(4)
            if kind == 0:
                a, b, c = rng.randint(1, 20), rng.randint(1, 9), rng.randint(1, 9)
                code, out = f"print({a} + {b} * {c})", str(a + b * c)
            elif kind == 1:
                w = pick(rng, [x for v in CATEGORIES.values() for x in v])
                code, out = f"print(len(\"{w}\"))", str(len(w))
            elif kind == 2:
                xs = [rng.randint(0, 50) for _ in range(rng.randint(3, 5))]
                fn = pick(rng, ("max", "min", "sum"))
                code, out = f"print({fn}({xs}))", str({"max": max, "min": min, "sum": sum}[fn](xs))
            else:
                w = pick(rng, [x for v in CATEGORIES.values() for x in v])
                code, out = f"print(\"{w}\".upper())", w.upper()
        elif difficulty == 2:
            a, b = rng.randint(1, 30), rng.randint(2, 9)
            op = pick(rng, ("+=", "-=", "*="))
            v = a + b if op == "+=" else a - b if op == "-=" else a * b
            code, out = f"x = {a}\nx {op} {b}\nprint(x)", str(v)
        elif rng.random() < 0.7:
            n, step, init = rng.randint(3, 7), rng.randint(1, 4), rng.randint(0, 20)
            code = f"total = {init}\nfor i in range({n}):\n    total += i * {step}\nprint(total)"
            out = str(init + sum(i * step for i in range(n)))
        else:
            w = pick(rng, [x for v in CATEGORIES.values() for x in v])
            code, out = f"s = \"{w}\"\nprint(s[::-1])", w[::-1]
        return Instance({"code": code}, out, out, code)

    def tolerant(self, prediction, gold):
        if re.fullmatch(r"-?\d+", gold):
            return _last_number_is(prediction, gold)
        pred = strip_wrappers(prediction)
        return bool(re.search(rf"(?<![\w]){re.escape(gold)}(?![\w])", pred)) or normalize(pred) == normalize(gold)


# this module's catalog families, in catalog order (collected by core/registry.py)
TASKS = (Arithmetic(), CompareLogic(), CodeOutput())
