"""Standard benchmarks through EleutherAI's lm-evaluation-harness (the optional `bench` extra).

env.py: import the harness (one clear error without it), its version, IFEval's sentence
splitter offline. tasks.py: which task configs a run uses and their hashes (the packaged task
folder `tasks/`, the recipe's `eval.lm_eval.task_dir`, the harness's own tasks). run.py: run
them on the base model and each adapter, cached, into results rows and per-document records.
"""
