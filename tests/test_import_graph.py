"""The shape of the code: no import cycle among the modules of core/ and gui/ (imports at module
level and inside functions alike, relative or through `gatescope.`), and no module of core/
longer than MAX_CORE_LINES."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {"core": "gatescope.core", "gui": "gatescope.gui"}
#: core/'s modules stay under about 400 lines; this is the hard limit.
MAX_CORE_LINES = 420


def module_files() -> dict:
    """{dotted name: path} of every module under core/ and gui/ (a package is its __init__)."""
    out = {}
    for folder, package in PACKAGES.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = list(path.relative_to(ROOT / folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join([package, *parts])] = path
    return out


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def _resolve(module: str, path: Path, level: int, target: str | None) -> str:
    """The absolute name `from <level dots><target> import …` refers to inside `module`."""
    if not level:
        return target or ""
    base = module.split(".")
    if not _is_package(path):
        base = base[:-1]                         # a module's package
    base = base[:len(base) - (level - 1)] if level > 1 else base
    return ".".join(base + ([target] if target else []))


def imports_of(module: str, path: Path, known: dict) -> set:
    """The modules of `known` that `module` imports anywhere in its file (any depth: module
    level, functions, classes, try blocks). `from P import x` counts as importing P.x when that
    is a module, else P."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, path, node.level, node.module)
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                     for alias in node.names]
        else:
            continue
        for name in names:
            while name and name not in known:    # `import gatescope.core.x.y` → the module
                name = name.rpartition(".")[0]
            if name and name != module:
                out.add(name)
    return out


def import_graph() -> dict:
    known = module_files()
    return {m: imports_of(m, p, known) for m, p in known.items()}


def find_cycle(graph: dict):
    """One cycle as a list of modules [a, b, …, a], or None (iterative depth-first search)."""
    colour = dict.fromkeys(graph, 0)             # 0 new, 1 on the current path, 2 done
    for root in sorted(graph):
        if colour[root]:
            continue
        path, stack = [root], [iter(sorted(graph[root]))]
        colour[root] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                colour[path.pop()] = 2
                stack.pop()
            elif colour[nxt] == 1:
                return path[path.index(nxt):] + [nxt]
            elif colour[nxt] == 0:
                colour[nxt] = 1
                path.append(nxt)
                stack.append(iter(sorted(graph[nxt])))
    return None


def test_the_graph_sees_every_kind_of_import():
    """The parser itself, on modules whose imports are known: relative (one and two dots), from a
    package (`from . import errors`), absolute through gatescope., and inside a function."""
    g = import_graph()
    assert "gatescope.core.cells" in g["gatescope.core.config"]            # from .cells import …
    assert "gatescope.core.cells" in g["gatescope.core.training.bptt"]     # from ..cells import …
    assert "gatescope.gui.errors" in g["gatescope.gui.app"]                # from . import errors (in a function)
    assert "gatescope.core.config" in g["gatescope.gui.app"]               # gatescope.core.config, in a function
    assert "gatescope.gui.views.directions" in g["gatescope.gui.main_window"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) in (
        ["a", "b", "c", "a"], ["b", "c", "a", "b"], ["c", "a", "b", "c"])
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set(), "d": {"a", "c"}}) is None


def test_no_import_cycles_in_core_and_gui():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " → ".join(cycle)


@pytest.mark.parametrize("path", sorted((ROOT / "core").rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_core_modules_stay_short(path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_CORE_LINES, f"{path.relative_to(ROOT)} has {lines} lines (at most {MAX_CORE_LINES})"
