"""Generated blocks inside hand-written Markdown: a command rewrites its block and nothing else."""
import os

from .atomic import atomic_write

__all__ = ["markdown_table", "replace_block"]


def markdown_table(header: list[str], rows: list[list], align: str = None) -> str:
    """A Markdown table; `align` has one letter per column, "l" or "r" (default: all left)."""
    align = align or "l" * len(header)
    rule = ["---:" if a == "r" else "---" for a in align]
    lines = [header, rule] + [[str(cell) for cell in row] for row in rows]
    return "\n".join("| " + " | ".join(line) + " |" for line in lines)


def replace_block(path: str, name: str, text: str, heading: str = None) -> None:
    """Put `text` between the markers `<!-- begin: NAME -->` and `<!-- end: NAME -->` of the
    Markdown file `path` (atomically); a file or block not there yet is created, the block at the
    end under `heading`."""
    begin, end = f"<!-- begin: {name} -->", f"<!-- end: {name} -->"
    block = f"{begin}\n{text.rstrip()}\n{end}"
    old = open(path, encoding="utf-8").read() if os.path.exists(path) else ""
    if begin in old and end in old:
        head, rest = old.split(begin, 1)
        new = head + block + rest.split(end, 1)[1]
    else:
        new = old.rstrip() + ("\n\n" if old.strip() else "") + (f"{heading}\n\n" if heading else "")
        new += block + "\n"
    with atomic_write(path, "wb") as handle:
        handle.write(new.encode("utf-8"))
