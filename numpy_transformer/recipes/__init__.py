"""Recipes: small named training configurations (`numpy-transformer list` shows them)."""
from .registry import RECIPES, Recipe, Setup, get_recipe, register
from . import digits, mnist  # noqa: F401  (each module registers its recipes)
