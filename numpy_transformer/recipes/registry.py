"""The recipe registry: a name, a one-line description, a config dataclass and a builder."""
import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Callable

RECIPES = {}


def _positive_number(value):
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    return None if ok and value > 0 else "a finite number > 0"


def _count(value):
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= 1
    return None if ok else "a whole number >= 1"


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

    def __post_init__(self):
        """Refuse values no training can run with, naming the option."""
        name = type(self).__name__
        if (self.epochs is None) == (self.steps is None):
            raise ValueError(f"{name}: set one of epochs and steps, got epochs={self.epochs}, "
                             f"steps={self.steps}")
        checks = [("epochs", self.epochs, _positive_number), ("steps", self.steps, _count),
                  ("batch_size", self.batch_size, _count), ("lr", self.lr, _positive_number),
                  ("eval_every", self.eval_every, _count), ("log_every", self.log_every, _count),
                  ("checkpoint_every", self.checkpoint_every, _count)]
        for option, value, check in checks:
            problem = None if value is None else check(value)
            if problem:
                raise ValueError(f"{name}: {option} must be {problem}, got {value!r}")


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


@dataclass(frozen=True)
class Target:
    """A recipe's quality target: a metric of its evaluations and the value it should reach."""
    metric: str                               # a key of the task's evaluation: accuracy, loss, bleu
    value: float
    higher_is_better: bool = True

    def met_by(self, metrics: dict) -> bool:
        got = metrics.get(self.metric)
        return got is not None and (got >= self.value if self.higher_is_better else got <= self.value)

    def __str__(self) -> str:
        shown = f"{self.value:.1%}" if self.metric.endswith("accuracy") else f"{self.value:g}"
        return f"{self.metric} {'>=' if self.higher_is_better else '<='} {shown}"


def time_to_target(records: list, target: Target) -> dict:
    """The target and when a run's evaluations (log.jsonl records) first met it:
    {"metric", "value", "higher_is_better", "seconds", "step"}, seconds and step None if never."""
    first = next((r for r in records if r.get("split") == "eval" and target.met_by(r)), {})
    return {**dataclasses.asdict(target), "seconds": first.get("seconds"), "step": first.get("step")}


@dataclass
class Recipe:
    name: str
    description: str
    config: type                              # a dataclass with every default
    build: Callable[[Any, Any], Setup]        # build(config, data_dir) -> Setup
    hooks: dict = field(default_factory=dict)  # extra abilities by name, e.g. "generate", "attention"
    headline: Callable[[dict], str] = accuracy_headline   # a run's result.json -> its one figure
    data_field: str = None                    # the config field `--data PATH` sets, if any
    target: Target = None                     # the quality its evaluations should reach, if any
    saved_defaults: dict = field(default_factory=dict)   # for a saved config without a field:
                                              # the value that builds the model it was run with

    def make_config(self, **overrides):
        """The default config with `overrides`; unknown keys are errors. A step count given
        without epochs replaces the default number of epochs."""
        names = {f.name for f in dataclasses.fields(self.config)}
        unknown = sorted(k for k in overrides if k not in names)
        if unknown:
            raise ValueError(f"recipe '{self.name}' has no option(s) {unknown}; it has {sorted(names)}")
        if overrides.get("steps") is not None and "epochs" not in overrides:
            overrides["epochs"] = None
        return self.config(**overrides)

    def saved_config(self, saved: dict, **overrides):
        """A run's saved config (fields added since it was saved take `saved_defaults`, so the
        checkpoint's model is rebuilt), with `overrides`."""
        return self.make_config(**{**self.saved_defaults, **saved, **overrides})


def register(recipe: Recipe) -> Recipe:
    RECIPES[recipe.name] = recipe
    return recipe


def get_recipe(name: str) -> Recipe:
    if name not in RECIPES:
        raise KeyError(f"unknown recipe '{name}'; known recipes: {', '.join(sorted(RECIPES))}")
    return RECIPES[name]
