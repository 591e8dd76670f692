"""Sweeps: a grid of mixes x seeds, each cell trained and evaluated, resumable."""
