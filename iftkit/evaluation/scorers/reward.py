"""Reward-model scorer: any transformers sequence-classification model (one logit) given by path.

The raw reward scale is arbitrary per model, so each prediction is scored against the
reference answer to the same prompt: sigmoid(r(candidate) - r(reference)) is the
Bradley-Terry probability that the candidate beats the reference (0.5 = as good).
"""

import math
from functools import lru_cache

from iftkit.core.errors import IftkitError
from iftkit.evaluation.scorers.base import Scorer
from iftkit.evaluation.scorers.registry import ScorerInfo


@lru_cache(maxsize=2)
def _load(path: str):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    try:
        tok = AutoTokenizer.from_pretrained(path)
        model = AutoModelForSequenceClassification.from_pretrained(path)
    except (OSError, ValueError) as exc:
        raise IftkitError(
            f"eval.reward_model: cannot load a sequence-classification model from {path} ({exc})"
        ) from None
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    model.config.pad_token_id = tok.pad_token_id
    return model.eval(), tok


def _conversation_text(tok, prompt, response):
    messages = list(prompt) + [{"role": "assistant", "content": response}]
    if getattr(tok, "chat_template", None):
        return tok.apply_chat_template(messages, tokenize=False)
    return "\n\n".join(f"{m['role']}: {m['content']}" for m in messages)


def _encode(tok, texts: list[str]):
    """Batch encoding with BOS exactly once: a template that wrote BOS as text gets no second one; any
    other text gets the tokenizer's own special tokens (BOS, or an encoder's [CLS] ... [SEP])."""
    bos = tok.bos_token
    add = not (bos and texts and all(t.startswith(bos) for t in texts))
    return tok(texts, return_tensors="pt", padding=True, truncation=True, max_length=1024, add_special_tokens=add)


class RewardModel(Scorer):
    name = "reward"

    def __init__(self, model: str = None, batch_size: int = 8):
        if not model:
            raise IftkitError("reward scorer: set eval.reward_model to a sequence-classification model path")
        self.model_path = model
        self.batch_size = batch_size

    def rewards(self, prompts, responses) -> list[float]:
        import torch

        model, tok = _load(self.model_path)
        out = []
        for i in range(0, len(prompts), self.batch_size):
            texts = [
                _conversation_text(tok, p, r)
                for p, r in zip(prompts[i : i + self.batch_size], responses[i : i + self.batch_size])
            ]
            enc = _encode(tok, texts)
            with torch.no_grad():
                logits = model(**enc).logits
            out.extend(float(x) for x in logits[:, 0])
        return out

    def identity(self):
        return f"{self.name}:{self.model_path}"

    def score(self, samples):
        if not samples:
            return []
        prompts = [s.prompt for s in samples]
        cand = self.rewards(prompts, [s.prediction or "" for s in samples])
        ref = self.rewards(prompts, [s.reference or "" for s in samples])
        return [1.0 / (1.0 + math.exp(-(c - r))) for c, r in zip(cand, ref)]


SCORERS = (
    ScorerInfo(
        "reward",
        RewardModel,
        "a sequence-classification reward model's score of (prompt, prediction)",
        options={"model": lambda recipe: recipe.eval.reward_model},
    ),
)
