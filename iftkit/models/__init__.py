"""Base-model resolution (hub / local dir / GGUF, offline default) and loading."""
