"""`iftkit eval` / eval/run.py end to end on the tiny model, user errors, and the local judge."""

import json
import subprocess
import sys

import pytest
import yaml

from iftkit.cli import main
from iftkit.config.loader import validate
from iftkit.core.paths import project_root
from iftkit.core.store import JsonStore
from iftkit.evaluation.counters import Counters
from iftkit.evaluation.evaluate import build_judge_client
from iftkit.evaluation.judge.prompts import load_judge_prompt
from iftkit.evaluation.scorers import SampleRecord, get_scorer


def _recipe(tmp_path, tiny_model_dir, mix_dir):
    path = tmp_path / "eval.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "model": {"id": str(tiny_model_dir)},
                "tracking": {"mode": "disabled"},
                "eval": {
                    "mix_dir": str(mix_dir),
                    "scorers": ["exact_match", "rouge"],
                    "max_new_tokens": 4,
                    "instruction_samples_per_category": 1,
                    "cache_dir": str(tmp_path / "cache"),
                },
            }
        )
    )
    return path


def test_iftkit_eval_cli_with_overrides(tmp_path, tiny_model_dir, tiny_adapters, mix_dir, capsys):
    recipe = _recipe(tmp_path, tiny_model_dir, mix_dir)
    args = [
        "eval",
        "--config",
        str(recipe),
        "--adapters",
        str(tiny_adapters[0]),
        "--out",
        str(tmp_path / "out"),
        "--no-progress",
        "--eval.scorers",
        "[exact_match, chrf]",
    ]
    assert main(args) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[-1] == "generations: 32 new, 0 cached; judge calls: 0 new, 0 cached"
    scorers = {json.loads(line)["scorer"] for line in (tmp_path / "out" / "results.jsonl").read_text().splitlines()}
    assert scorers == {"exact_match", "chrf"}  # the override replaced the recipe's list
    assert main(args) == 0
    assert (
        capsys.readouterr().out.strip().splitlines()[-1]
        == "generations: 0 new, 32 cached; judge calls: 0 new, 0 cached"
    )


def test_eval_run_script_and_user_errors(tmp_path, tiny_model_dir, mix_dir):
    recipe = _recipe(tmp_path, tiny_model_dir, mix_dir)
    script = str(project_root() / "eval" / "run.py")
    bad_adapter = subprocess.run(
        [
            sys.executable,
            script,
            "--config",
            str(recipe),
            "--adapters",
            str(tmp_path / "nope"),
            "--out",
            str(tmp_path / "o"),
        ],
        capture_output=True,
        text=True,
    )
    assert bad_adapter.returncode == 2
    assert bad_adapter.stderr.strip().splitlines() == [
        f"eval/run.py: error: --adapters: not a directory: {tmp_path / 'nope'}"
    ]
    bad_scorer = subprocess.run(
        [
            sys.executable,
            script,
            "--config",
            str(recipe),
            "--out",
            str(tmp_path / "o"),
            "--eval.scorers",
            "[rouge, blue]",
        ],
        capture_output=True,
        text=True,
    )
    assert bad_scorer.returncode == 2 and "unknown scorer 'blue'" in bad_scorer.stderr
    assert len(bad_scorer.stderr.strip().splitlines()) == 1


def _local_judge(tmp_path, tiny_model_dir, counters, **judge):
    recipe = validate(
        {
            "model": {"id": str(tiny_model_dir)},
            "tracking": {"mode": "disabled"},
            "eval": {"judge": {"backend": "local", **judge}},
        }
    )
    return build_judge_client(recipe, JsonStore(tmp_path / "j.sqlite", "judge"), counters, progress=False)


SAMPLES = [
    SampleRecord(prompt=[{"role": "user", "content": "2+2?"}], prediction=p, reference="4") for p in ("4", "five", "22")
]


def test_a_random_model_puts_too_little_probability_on_verdicts_and_says_so(tmp_path, tiny_model_dir):
    """A random tiny model spreads its next-token probability over its whole vocabulary: read
    from probabilities, its verdicts carry their mass, fall below the threshold and count as
    unparseable, never renormalised into confident-looking scores."""
    counters = Counters()
    client = _local_judge(tmp_path, tiny_model_dir, counters)
    res = get_scorer("judge", client=client, prompt=load_judge_prompt("reference")).score_detailed(SAMPLES)
    assert res.values["judge"] == [None, None, None]
    for detail in res.details:
        cand = detail["verdicts"]["candidate"]
        assert cand["status"] == "unparseable" and cand["mass"] < 0.5 and cand["method"] == "probs"
    assert counters.verdicts.low_mass == counters.verdicts.unparseable == 6 and counters.verdicts.scored == 0
    assert "WARNING: the judge scored 0 of 6 verdicts" in counters.verdicts.line()


def test_local_judge_reads_verdicts_from_probabilities_never_unparseable(tmp_path, tiny_model_dir, monkeypatch):
    """A random tiny model cannot write "Score: N", but it has a next-token distribution: every
    verdict is a probability-weighted score, with its distribution kept for the report (here with
    the mass threshold off: a random model's mass is tiny, see the test above)."""
    from iftkit.evaluation.judge import verdicts

    monkeypatch.setattr(verdicts, "MIN_VERDICT_MASS", 0.0)
    counters = Counters()
    client = _local_judge(tmp_path, tiny_model_dir, counters)
    assert client.label.endswith("(weak judge)")
    res = get_scorer("judge", client=client, prompt=load_judge_prompt("reference")).score_detailed(SAMPLES)
    assert res.failed == [(), (), ()]
    for value, ref, detail in zip(res.values["judge"], res.values["judge_reference"], res.details):
        assert 0.0 <= value <= 10.0 and 0.0 <= ref <= 10.0
        probs = detail["verdicts"]["candidate"]["probs"]
        assert set(probs) == {str(k) for k in range(11)} and sum(probs.values()) == pytest.approx(1.0, abs=1e-5)
        assert value == pytest.approx(sum(int(k) * p for k, p in probs.items()), abs=1e-4)
    pair = get_scorer("judge_pairwise", client=client, prompt=load_judge_prompt("pairwise")).score_detailed(SAMPLES)
    assert all(v is not None and 0.0 <= v <= 1.0 for v in pair.values["judge_pairwise"])
    # 3 candidates + 3 references + 6 pairwise orders; repeats are asked once ("4" vs "4": 3 + 1 repeats)
    assert counters.verdicts.unparseable == 0 and counters.verdicts.scored == counters.verdicts.by_probs == 12
    assert (counters.judge.new, counters.judge.cached) == (8, 4)
    assert counters.judge.prompt_tokens > 100
    again = Counters()
    res2 = get_scorer(
        "judge", client=_local_judge(tmp_path, tiny_model_dir, again), prompt=load_judge_prompt("reference")
    ).score_detailed(SAMPLES)
    assert res2.values == res.values and (again.judge.new, again.judge.cached) == (0, 6)


def test_local_judge_text_mode_and_any_local_model(tmp_path, tiny_model_dir):
    """verdict: text parses generated replies (the tiny model's rarely parse: counted, kept
    verbatim); a judge model other than the base is not labelled weak."""
    counters = Counters()
    client = _local_judge(tmp_path, tiny_model_dir, counters, verdict="text", max_tokens=6, model=str(tiny_model_dir))
    assert not client.label.endswith("(weak judge)")
    res = get_scorer("judge", client=client, prompt=load_judge_prompt("reference")).score_detailed(SAMPLES[:2])
    for value, detail in zip(res.values["judge"], res.details):
        cand = detail["verdicts"]["candidate"]
        assert isinstance(cand["raw"], str) and cand["method"] == "text"
        assert (value is None) == (cand["status"] == "unparseable")
    assert counters.verdicts.scored + counters.verdicts.unparseable == 4 and counters.verdicts.by_probs == 0
