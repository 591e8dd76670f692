"""Evaluate the base model and adapters on in-domain and general suites (= `iftkit eval`, same flags).

    python eval/run.py --config R --adapters A B --out DIR [--no-base] [--eval.judge.backend openai ...]

Reads the recipe, then `run_eval` (iftkit/evaluation/evaluate.py) does the evaluation: the models under
test (the base model and each adapter, loaded on the base named in its card), the suites' prompts (the
in-domain test split of each adapter's mix, the general suites), answers generated in batches and cached
(a rerun generates only what is missing), every scorer of eval.scorers on every answer (the LLM judge
through eval.judge), and the rows per model x suite x task x scorer with bootstrap intervals. It writes
DIR/samples.jsonl (one line per answer, its scores) and DIR/results.jsonl (+ .parquet), and logs to W&B.
"""

import sys

try:
    from iftkit.cli import command_args, run_guarded
    from iftkit.config import load_recipe
    from iftkit.evaluation.evaluate import run_eval
except ModuleNotFoundError as exc:
    if exc.name != "iftkit":
        raise
    sys.exit("eval/run.py: error: iftkit is not installed; run `pip install -e .` in the repository root")


def main(argv=None) -> int:
    # the flags of `iftkit eval`: --config, --adapters, --out, --no-base, --no-progress, and --section.key overrides
    args = command_args("eval", argv, prog="eval/run.py")

    # 1. recipe: its eval: section picks the suites, scorers and judge
    recipe = load_recipe(args.config, args.overrides)

    # 2. models x suites -> cached answers -> scores -> results rows, written under --out
    result = run_eval(recipe, args.adapters, args.out, include_base=not args.no_base, progress=not args.no_progress)

    # 3. where the results are, generation limits and cut answers, judge cost, warnings
    for line in result.lines():
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(run_guarded("eval/run.py", main))
