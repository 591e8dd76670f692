"""LLM judges: prompt files, verdict parsing, a cached client over local or HTTP backends."""
