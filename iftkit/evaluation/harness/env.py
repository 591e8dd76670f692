"""The harness as an optional dependency: importing it, naming its version, and giving IFEval's
checks a sentence splitter without network access."""

from functools import lru_cache
from importlib import metadata, resources

from iftkit.core.errors import IftkitError

INSTALL_HINT = "pip install 'iftkit[bench]' (make setup installs it)"
# NLTK data shipped with iftkit (see nltk_data/README.md); NLTK's own, when installed, wins
_OFFLINE_NLTK = "nltk_data"


def require_lm_eval(what: str = "eval.lm_eval"):
    try:
        import lm_eval
    except ImportError:
        raise IftkitError(f"{what} needs EleutherAI's lm-evaluation-harness: {INSTALL_HINT}") from None
    return lm_eval


def harness_version() -> str:
    return metadata.version("lm_eval")


@lru_cache(maxsize=1)
def sentence_splitter() -> str:
    """Make NLTK find an English Punkt model before lm-eval's IFEval module is imported (it would
    try to download one at import time); return which model counts sentences."""
    import nltk

    try:
        nltk.data.find("tokenizers/punkt_tab/english/")
        return "nltk punkt_tab"
    except LookupError:
        pass
    folder = resources.files("iftkit.evaluation.harness").joinpath(_OFFLINE_NLTK)
    nltk.data.path.append(str(folder))
    return "iftkit offline punkt_tab"


def ifeval_functions():
    """lm-eval's IFEval implementation: (InputExample, strict check, loose check, instruction registry)."""
    require_lm_eval("the ifeval scorer")
    sentence_splitter()
    from lm_eval.tasks.ifeval import instructions_registry
    from lm_eval.tasks.ifeval.utils import (
        InputExample,
        test_instruction_following_loose,
        test_instruction_following_strict,
    )

    return InputExample, test_instruction_following_strict, test_instruction_following_loose, instructions_registry
