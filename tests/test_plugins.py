"""A package outside iftkit adds a scorer and a layout through entry points, installed by pip as a user would,
with no edit to iftkit; one recipe uses both: it validates, its data file loads through the plugin's layout
into a mix, and `run_eval` on the tiny model scores the answers with the plugin's scorer."""

import json
import subprocess
import sys
import textwrap

import pytest

from iftkit.config.loader import validate
from iftkit.core.errors import IftkitError
from iftkit.core.registry import Registry

PYPROJECT = """
[build-system]
requires = ["setuptools"]
build-backend = "setuptools.build_meta"

[project]
name = "iftkit-faq-plugin"
version = "0.1"

[project.entry-points."iftkit.scorers"]
faq = "iftkit_faq_plugin.scorers"

[project.entry-points."iftkit.layouts"]
faq = "iftkit_faq_plugin.layouts:LAYOUT"

[tool.setuptools]
packages = ["iftkit_faq_plugin"]
"""

SCORERS = '''
"""Share of the reference's words that the answer contains (a plugin's scorer)."""

from iftkit.evaluation.scorers.base import Scorer
from iftkit.evaluation.scorers.registry import ScorerInfo


class WordRecall(Scorer):
    name = "word_recall"
    needs_reference = True

    def score(self, samples):
        return [recall(s.prediction, s.reference) for s in samples]


def recall(prediction, reference):
    want = reference.lower().split()
    return sum(w in prediction.lower().split() for w in want) / len(want)


SCORERS = (ScorerInfo("word_recall", WordRecall, "share of the reference's words in the answer"),)
'''

LAYOUTS = '''
"""faq: {"q": ..., "a": ...} records (a plugin's layout)."""

from iftkit.layouts.base import Layout, text

LAYOUT = Layout(
    name="faq",
    expected="fields 'q' and 'a'",
    fields=(("q",), ("a",)),
    read=lambda rec: ([{"role": "user", "content": text(rec, "q")}], text(rec, "a")),
)
'''


@pytest.fixture
def plugin(tmp_path):
    """The plugin, built and installed with pip into a folder put on sys.path; taken away afterwards."""
    root = tmp_path / "plugin"
    src, target = root / "src", root / "site"
    (src / "iftkit_faq_plugin").mkdir(parents=True)
    (src / "pyproject.toml").write_text(PYPROJECT)
    (src / "iftkit_faq_plugin" / "__init__.py").write_text("")
    (src / "iftkit_faq_plugin" / "scorers.py").write_text(textwrap.dedent(SCORERS))
    (src / "iftkit_faq_plugin" / "layouts.py").write_text(textwrap.dedent(LAYOUTS))
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index",
                    "--disable-pip-version-check", "-q", "--target", str(target), str(src)],
                   check=True, capture_output=True, text=True)
    sys.path.insert(0, str(target))
    Registry.reload_all()
    yield target
    sys.path.remove(str(target))
    for name in [m for m in sys.modules if m.split(".")[0] == "iftkit_faq_plugin"]:
        del sys.modules[name]
    Registry.reload_all()


def _recipe(tiny_model_dir, tmp_path, data_file, **over):
    return validate({
        "model": {"id": str(tiny_model_dir)},
        "data": {"target_task": "faq", "target_files": [str(data_file)], "file_format": "faq",
                 "target_test_size": 4, "general_tasks": ["arithmetic"], "samples_per_task": 20},
        "mix": {"target_count": 4, "val_size": 2, "test_size_per_task": 2},
        "tracking": {"mode": "disabled"},
        "eval": {"suites": ["in_domain"], "scorers": ["word_recall", "exact_match"], "max_new_tokens": 4,
                 "cache_dir": str(tmp_path / "cache"), "bootstrap_samples": 0, **over},
    })


def test_a_pip_installed_plugin_adds_a_scorer_and_a_layout_one_recipe_uses(plugin, tiny_model_dir, tmp_path):
    from iftkit.data.mix import build_mix, load_split
    from iftkit.evaluation.evaluate import run_eval

    data = tmp_path / "faq.jsonl"
    data.write_text("".join(json.dumps({"q": f"What comes after {i}?", "a": f"the number {i + 1}"}) + "\n"
                            for i in range(16)))
    recipe = _recipe(tiny_model_dir, tmp_path, data)
    assert recipe.data.file_format == "faq"

    mix = build_mix(recipe, tmp_path / "mix")  # reads faq.jsonl through the plugin's layout
    test_rows = load_split(mix, "test/faq")
    assert len(test_rows) == 4 and {r.completion for r in test_rows} <= {f"the number {i + 1}" for i in range(16)}
    assert test_rows[0].prompt[-1]["content"].startswith("What comes after ")

    result = run_eval(recipe.model_copy(update={"eval": recipe.eval.model_copy(update={"mix_dir": str(mix)})}),
                      [], tmp_path / "out", progress=False)
    samples = [json.loads(line) for line in (tmp_path / "out" / "samples.jsonl").read_text().splitlines()]
    assert len(samples) == 4
    recall = sys.modules["iftkit_faq_plugin.scorers"].recall
    for s in samples:  # the plugin's scorer scored every answer of the tiny model
        assert s["scores"]["word_recall"] == pytest.approx(recall(s["prediction"], s["reference"]))
    row = next(r for r in result.rows if r["scorer"] == "word_recall" and r["task"] == "__all__")
    assert row["n"] == 4 and row["mean"] == pytest.approx(sum(s["scores"]["word_recall"] for s in samples) / 4)


def test_without_the_plugin_the_same_recipe_is_refused_naming_the_key(tiny_model_dir, tmp_path):
    with pytest.raises(IftkitError, match=r"data\.file_format' = 'faq': unknown data format 'faq' \(known: auto, "):
        _recipe(tiny_model_dir, tmp_path, tmp_path / "faq.jsonl")


def test_a_plugin_that_fails_to_import_is_one_cli_line_naming_it(tmp_path, monkeypatch, capsys):
    """Written as pip writes an installed distribution; `data show --help` lists layouts while building the parser."""
    from iftkit.cli import main

    info = tmp_path / "iftkit_broken-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: iftkit-broken\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[iftkit.layouts]\nbroken = iftkit_broken_layout\n")
    (tmp_path / "iftkit_broken_layout.py").write_text("import a_dependency_nobody_installed\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    Registry.reload_all()
    try:
        assert main(["data", "show", "--help"]) == 2
    finally:
        monkeypatch.undo()
        Registry.reload_all()
    err = capsys.readouterr().err
    assert err == ("iftkit: error: entry point 'broken' (iftkit.layouts) of distribution iftkit-broken 0.1 = "
                   "'iftkit_broken_layout' failed to import: ModuleNotFoundError: No module named "
                   "'a_dependency_nobody_installed'\n")
