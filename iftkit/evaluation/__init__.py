"""Evaluation: batched cached generation, a scorer registry, LLM judges, suites and results."""
