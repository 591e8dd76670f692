"""Sweep reports: tradeoff points, recommendations, charts, Markdown and HTML."""
