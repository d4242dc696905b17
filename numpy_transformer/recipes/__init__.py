"""Recipes: small named training configurations (`numpy-transformer list` shows them).

Each module in this package registers its recipes when imported; all are imported here."""
import importlib
import pkgutil

from .registry import (RECIPES, Recipe, Setup, Target, TrainingConfig, get_recipe, register,
                       time_to_target)

for _module in pkgutil.iter_modules(__path__):
    if _module.name != "registry":
        importlib.import_module(f"{__name__}.{_module.name}")
