"""The command line explains itself: each command in one line, each option with a help text and
its default, and each recipe's own options with their types and defaults."""
import argparse

import pytest

from numpy_transformer.cli import build_parser, main
from numpy_transformer.recipes import RECIPES


def subcommands():
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return parser, action


def test_the_top_level_help_lists_each_command_in_one_line(capsys):
    parser, action = subcommands()
    text = parser.format_help()
    for choice in action._choices_actions:
        assert choice.help and "\n" not in choice.help
        assert choice.dest in text


@pytest.mark.parametrize("name", sorted(subcommands()[1].choices))
def test_every_option_has_a_help_text_and_shows_its_default(name):
    sub = subcommands()[1].choices[name]
    for action in sub._actions:
        assert action.help, f"{name}: {action.option_strings or action.dest} has no help"
    text = sub.format_help()
    for action in sub._actions:
        if action.option_strings and action.default not in (None, False, argparse.SUPPRESS):
            assert f"default:{action.default}" in "".join(text.split()) or \
                "default" in action.help, f"{name}: {action.option_strings} hides its default"


@pytest.mark.parametrize("name", ["mlp-mnist", "gpt-shakespeare", "translate-multi30k"])
def test_train_recipe_help_lists_the_recipes_options_with_types_and_defaults(name, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["train", name, "--help"])
    assert stop.value.code == 0
    out = capsys.readouterr().out.split(f"options of {name}")[1]
    config = RECIPES[name].make_config()
    for field in type(config).__dataclass_fields__.values():
        line = next(l for l in out.splitlines() if l.split() and l.split()[0] == field.name)
        assert f"default {getattr(config, field.name)!r}" in line
