"""The subcommands of `numpy-transformer`, one module each; every module defines
`register(subparsers)`, which adds its parser and sets `run=` to the function to call."""
import importlib
import pkgutil


def register_all(subparsers) -> None:
    """Add every subcommand found in this package, in alphabetical order of module."""
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if not module.name.startswith("_"):
            importlib.import_module(f"{__name__}.{module.name}").register(subparsers)
