"""MkDocs hook: `<!-- cli help -->` in a page becomes the help of every `numpy-transformer` command,
so the command-line page is the parser's own text."""
import argparse
import re


def command_help() -> str:
    """Markdown: the top-level help, then each subcommand's, as argparse prints them."""
    from numpy_transformer.cli import build_parser
    parser = build_parser()
    sections = ["```text\n" + parser.format_help().rstrip() + "\n```"]
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, sub in commands.choices.items():
        sub.prog = f"numpy-transformer {name}"
        sections.append(f"## {name}\n\n```text\n{sub.format_help().rstrip()}\n```")
    return "\n\n".join(sections)


def on_page_markdown(markdown, page, config, files):
    if "<!-- cli help -->" in markdown:
        return re.sub(r"<!-- cli help -->", lambda _: command_help(), markdown)
    return markdown
