"""The package is layered: every import goes to the same layer or one below, and none go round."""
import ast
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "numpy_transformer"

# lowest first; a part may import its own layer and the ones above it in this list
LAYERS = [
    {"dtype", "device", "grad_mode", "random", "io"},
    {"nn.functional"},                     # the reference math
    {"kernels"},                           # the tuned twins of the reference, one dispatch point
    {"nn"},                                # modules
    {"optim", "data", "tokenizers", "metrics", "testing", "distributed"},
    {"models"},
    {"interop"},
    {"viz"},
    {"train"},
    {"<root>"},                            # `import numpy_transformer as nt`
    {"recipes"},
    {"curriculum"},
    {"commands"},
    {"cli", "__main__"},
]
LEVEL = {part: level for level, parts in enumerate(LAYERS) for part in parts}


def part_of(module: str) -> str:
    """The layer part a dotted module name belongs to (nn.functional apart from nn)."""
    names = [n for n in module.split(".")[1:] if n != "__init__"]
    if not names:
        return "<root>"
    if names[:2] == ["nn", "functional"]:
        return "nn.functional"
    return names[0]


def imports_of(path: Path):
    """(line, imported module) for every import of the package in one file, lazy ones too."""
    module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    package = module.rsplit(".", 1)[0] if path.name != "__init__.py" else module[:-len(".__init__")]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package.split(".")[:len(package.split(".")) - node.level + 1]
            target = ".".join(base + ([node.module] if node.module else []))
            targets = [target] if node.module else [f"{target}.{a.name}" for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            targets = [node.module or ""]
        elif isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            continue
        for target in targets:
            if target.split(".")[0] == "numpy_transformer":
                yield node.lineno, target


def import_edges():
    """{(importer part, imported part): [where]} across the package, parts differing."""
    edges = defaultdict(list)
    for path in sorted(PACKAGE.rglob("*.py")):
        importer = part_of(".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts))
        for line, target in imports_of(path):
            if part_of(target) != importer:
                edges[importer, part_of(target)].append(f"{path.relative_to(PACKAGE.parent)}:{line}")
    return edges


def test_every_part_of_the_package_has_a_layer():
    parts = {part_of(".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts))
             for p in PACKAGE.rglob("*.py")}
    assert parts <= set(LEVEL), f"parts with no layer: {sorted(parts - set(LEVEL))}"


def test_imports_go_downward_only():
    upward = {f"{a} -> {b}": where for (a, b), where in import_edges().items()
              if LEVEL[b] > LEVEL[a]}
    assert not upward, f"imports of a higher layer: {upward}"


def test_no_two_parts_import_each_other():
    edges = import_edges()
    cycles = sorted(f"{a} <-> {b}" for a, b in edges if (b, a) in edges and a < b)
    assert not cycles, cycles


def test_viz_is_below_train():
    assert LEVEL["viz"] < LEVEL["train"]
    assert ("viz", "train") not in import_edges()


def test_each_part_imports_first_on_its_own():
    """No part relies on another having been imported before it."""
    parts = sorted(p for p in LEVEL if p not in ("<root>", "__main__", "nn.functional"))
    script = (
        "import importlib, sys\n"
        f"for part in {parts!r} + ['nn.functional']:\n"
        "    for name in [m for m in sys.modules if m.startswith('numpy_transformer')]:\n"
        "        del sys.modules[name]\n"
        "    importlib.import_module('numpy_transformer.' + part)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
