"""Meta-evaluation: can a scorer be trusted (CIT/CAT/TFA), and what is the model still learning?

Modules: stats (rank correlations, bootstrap), samples (eval records + gold reference),
human (judgment import), perturb (TFA variants), requirements (CIT/CAT/TFA), pairwise (judge
position/length bias), dynamics + dynamics_chart (format vs task over n), report (tables,
verdicts), run (the pipeline), wandb_log.
"""
