"""`iftkit eval` / eval/run.py end to end on the tiny model, user errors, and the local judge."""

import json
import subprocess
import sys

import yaml

from iftkit.cli import main
from iftkit.config.schema import ModelConfig
from iftkit.evaluation.counters import Counters
from iftkit.evaluation.judge.client import JudgeClient
from iftkit.evaluation.judge.local_backend import LocalJudgeBackend
from iftkit.evaluation.judge.prompts import load_judge_prompt
from iftkit.evaluation.scorers import Sample, get_scorer
from iftkit.evaluation.sqlite_store import JsonStore
from iftkit.paths import project_root


def _recipe(tmp_path, tiny_model_dir, mix_dir):
    path = tmp_path / "eval.yaml"
    path.write_text(yaml.safe_dump({
        "model": {"id": str(tiny_model_dir)},
        "tracking": {"mode": "disabled"},
        "eval": {"mix_dir": str(mix_dir), "scorers": ["exact_match", "rouge"], "max_new_tokens": 4,
                 "instruction_samples_per_category": 1, "cache_dir": str(tmp_path / "cache")},
    }))
    return path


def test_iftkit_eval_cli_with_overrides(tmp_path, tiny_model_dir, tiny_adapters, mix_dir, capsys):
    recipe = _recipe(tmp_path, tiny_model_dir, mix_dir)
    args = ["eval", "--config", str(recipe), "--adapters", str(tiny_adapters[0]), "--out", str(tmp_path / "out"),
            "--no-progress", "--eval.scorers", "[exact_match, chrf]"]
    assert main(args) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[-1] == "generations: 32 new, 0 cached; judge calls: 0 new, 0 cached"
    scorers = {json.loads(line)["scorer"] for line in (tmp_path / "out" / "results.jsonl").read_text().splitlines()}
    assert scorers == {"exact_match", "chrf"}  # the override replaced the recipe's list
    assert main(args) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == "generations: 0 new, 32 cached; judge calls: 0 new, 0 cached"


def test_eval_run_script_and_user_errors(tmp_path, tiny_model_dir, mix_dir):
    recipe = _recipe(tmp_path, tiny_model_dir, mix_dir)
    script = str(project_root() / "eval" / "run.py")
    bad_adapter = subprocess.run([sys.executable, script, "--config", str(recipe), "--adapters", str(tmp_path / "nope"),
                                  "--out", str(tmp_path / "o")], capture_output=True, text=True)
    assert bad_adapter.returncode == 2
    assert bad_adapter.stderr.strip().splitlines() == [f"eval/run.py: error: --adapters: not a directory: {tmp_path / 'nope'}"]
    bad_scorer = subprocess.run([sys.executable, script, "--config", str(recipe), "--out", str(tmp_path / "o"),
                                 "--eval.scorers", "[rouge, blue]"], capture_output=True, text=True)
    assert bad_scorer.returncode == 2 and "unknown scorer 'blue'" in bad_scorer.stderr
    assert len(bad_scorer.stderr.strip().splitlines()) == 1


def test_local_judge_is_labelled_weak_counts_tokens_and_keeps_raw(tmp_path, tiny_model_dir):
    backend = LocalJudgeBackend(ModelConfig(id=str(tiny_model_dir)), str(tiny_model_dir), max_tokens=6, progress=False)
    counters = Counters()
    client = JudgeClient(backend, JsonStore(tmp_path / "j.sqlite", "judge"), counters)
    assert client.label.endswith("(weak judge)")
    samples = [Sample(prompt=[{"role": "user", "content": "2+2?"}], prediction=p, reference="4") for p in ("4", "five")]
    res = get_scorer("judge", client=client, prompt=load_judge_prompt("reference")).score_detailed(samples)
    # unique prompts: "4" graded against "4" (also the reference-on-reference prompt of both samples) and "five"
    assert (counters.judge_new, counters.judge_cached) == (2, 2)
    assert counters.judge_prompt_tokens > 100
    for value, detail, failed in zip(res.values["judge"], res.details, res.failed):
        assert isinstance(detail["raw"], str)  # verbatim, parsed or not
        assert failed == (value is None) == detail["parse_failed"]
    again = Counters()
    JudgeClient(backend, JsonStore(tmp_path / "j.sqlite", "judge"), again).complete_many(
        [load_judge_prompt("reference").render(instruction="2+2?", reference="4", answer="4")])
    assert (again.judge_new, again.judge_cached) == (0, 1)
