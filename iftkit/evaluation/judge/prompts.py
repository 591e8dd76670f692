"""Judge prompts are data, not code: load, check and fill them.

The defaults ship in the package (iftkit/evaluation/judge/default_prompts/); a recipe names its
own with eval.judge.prompt_file / pairwise_prompt_file (recipes/prompts/ holds short variants).
"""

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import yaml

from iftkit.core.errors import IftkitError

DEFAULTS = {"reference": "judge_reference.yaml", "pairwise": "judge_pairwise.yaml"}
REQUIRED = {"reference": ("system", "user", "score_pattern"), "pairwise": ("system", "user", "winner_pattern")}
# where the verdict goes in the judge's reply: probability verdicts read the token after this
VERDICT_PREFIX = {"reference": "Score:", "pairwise": "Winner:"}
PAIRWISE_CHOICES = ("A", "B", "tie")


@dataclass
class JudgePrompt:
    kind: str
    name: str
    system: str
    user: str
    pattern: re.Pattern
    scale: tuple = (0.0, 10.0)
    source: str = ""
    verdict_prefix: str = ""

    def choices(self) -> list[str]:
        """The allowed verdicts: every integer on the scale, or A / B / tie."""
        if self.kind == "pairwise":
            return list(PAIRWISE_CHOICES)
        return [str(v) for v in range(int(self.scale[0]), int(self.scale[1]) + 1)]

    def verdict_value(self, choice: str) -> float:
        """A verdict as a number: the score itself, or how much the answer in slot A won (1 / 0.5 / 0)."""
        return {"A": 1.0, "B": 0.0, "tie": 0.5}[choice] if self.kind == "pairwise" else float(choice)

    def render(self, **fields) -> list[dict]:
        text = self.user
        # one pass, so a placeholder-like string inside model output is never expanded
        text = re.sub(r"\{\{(\w+)\}\}", lambda m: str(fields.get(m.group(1), m.group(0))), text)
        return [{"role": "system", "content": self.system.strip()}, {"role": "user", "content": text.strip()}]

    def identity(self) -> dict:
        return {
            "name": self.name,
            "system": self.system,
            "user": self.user,
            "pattern": self.pattern.pattern,
            "verdict_prefix": self.verdict_prefix,
        }


def load_judge_prompt(kind: str, path: Optional[str] = None) -> JudgePrompt:
    if not path:
        from importlib import resources

        with resources.as_file(
            resources.files("iftkit.evaluation.judge").joinpath("default_prompts", DEFAULTS[kind])
        ) as p:
            return load_judge_prompt(kind, str(p))
    p = Path(path)
    if not p.is_file():
        raise IftkitError(f"judge prompt file not found: {p}")
    try:
        data = yaml.safe_load(p.read_text())
    except yaml.YAMLError as exc:
        raise IftkitError(f"{p}: invalid YAML ({exc})") from None
    missing = [k for k in REQUIRED[kind] if not isinstance((data or {}).get(k), str)]
    if missing:
        raise IftkitError(f"{p}: {kind} judge prompt needs string keys {', '.join(missing)}")
    try:
        pattern = re.compile(data[REQUIRED[kind][2]])
    except re.error as exc:
        raise IftkitError(f"{p}: key '{REQUIRED[kind][2]}': invalid regex ({exc})") from None
    try:
        lo, hi = (float(x) for x in data.get("scale", [0, 10]))
        if kind == "reference" and (lo != int(lo) or hi != int(hi) or hi <= lo):
            raise ValueError
    except (TypeError, ValueError):
        raise IftkitError(
            f"{p}: key 'scale': expected two integers [low, high] with low < high, got {data.get('scale')!r}"
        ) from None
    prefix = data.get("verdict_prefix", VERDICT_PREFIX[kind])
    if not isinstance(prefix, str):
        raise IftkitError(f"{p}: key 'verdict_prefix': expected a string such as {VERDICT_PREFIX[kind]!r}")
    return JudgePrompt(
        kind, str(data.get("name", p.stem)), data["system"], data["user"], pattern, (lo, hi), str(p), prefix
    )


def parse_score(prompt: JudgePrompt, text: str):
    """The last score in range, or None (the caller counts it as a parse failure)."""
    matches = prompt.pattern.findall(text or "")
    for m in reversed(matches):
        value = float(m if isinstance(m, str) else m[0])
        if prompt.scale[0] <= value <= prompt.scale[1]:
            return value
    return None


def parse_winner(prompt: JudgePrompt, text: str):
    matches = prompt.pattern.findall(text or "")
    if not matches:
        return None
    m = matches[-1]
    w = (m if isinstance(m, str) else m[0]).strip().lower()
    return {"a": "A", "b": "B", "tie": "tie"}.get(w)
