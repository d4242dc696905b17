"""The recipe registry: a name, a one-line description, a config dataclass and a builder."""
import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable

RECIPES = {}


@dataclass
class TrainingConfig:
    """The options every recipe has; a recipe's config subclasses it and adds its own."""
    epochs: float = None          # train this many epochs ...
    steps: int = None             # ... or this many steps (set one)
    batch_size: int = 32
    lr: float = 1e-3
    seed: int = 0
    eval_every: int = None        # steps between evaluations (default: once per epoch)
    log_every: int = 10           # steps between train-metric log lines
    checkpoint_every: int = None  # steps between checkpoints (default: at each evaluation)


@dataclass
class Setup:
    """What a recipe builds: the task to train, its data, and how to evaluate it at the end."""
    task: Any
    train_loader: Any
    eval_loader: Any = None
    test_loader: Any = None
    notes: dict = field(default_factory=dict)


def accuracy_headline(result: dict) -> str:
    """A classifier's headline: its test accuracy."""
    return f"{result['test_accuracy']:.2%} test accuracy"


@dataclass
class Recipe:
    name: str
    description: str
    config: type                              # a dataclass with every default
    build: Callable[[Any, Any], Setup]        # build(config, data_dir) -> Setup
    hooks: dict = field(default_factory=dict)  # extra abilities by name, e.g. "generate", "attention"
    headline: Callable[[dict], str] = accuracy_headline   # a run's result.json -> its one figure

    def make_config(self, **overrides):
        """The default config with `overrides`; unknown keys are errors."""
        names = {f.name for f in dataclasses.fields(self.config)}
        unknown = sorted(k for k in overrides if k not in names)
        if unknown:
            raise ValueError(f"recipe '{self.name}' has no option(s) {unknown}; it has {sorted(names)}")
        return self.config(**overrides)


def register(recipe: Recipe) -> Recipe:
    RECIPES[recipe.name] = recipe
    return recipe


def get_recipe(name: str) -> Recipe:
    if name not in RECIPES:
        raise KeyError(f"unknown recipe '{name}'; known recipes: {', '.join(sorted(RECIPES))}")
    return RECIPES[name]
