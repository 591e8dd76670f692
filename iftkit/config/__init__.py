"""Recipes: typed, validated YAML with includes and dotted CLI overrides."""

from iftkit.config.loader import load_recipe, parse_overrides, recipe_hash, validate
from iftkit.config.schema import Recipe

__all__ = ["Recipe", "load_recipe", "parse_overrides", "recipe_hash", "validate"]
