"""The import graph of helpers/ and booktools/: no cycle, and helpers.taught imports only plumbing.

The graph is read from the source with ast, every import counted wherever it is written (at the
top of a module, inside a function, under `if TYPE_CHECKING`), so an import hidden in a function
cannot hide a cycle. `python tests/test_imports.py` prints the graph and its cycles.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("helpers", "booktools")
TAUGHT = "helpers.taught"
# what helpers.taught may never reach, directly or through what it imports: the orchestrator and
# the steps that call the taught code (they import it, so reaching them would be a cycle anyway)
NOT_FROM_TAUGHT = frozenset(
    f"helpers.{name}" for name in ("pipeline", "train", "classify", "export", "__main__")
)

Graph = dict[str, set[str]]


def module_name(path: Path, root: Path) -> str:
    """helpers/split.py -> helpers.split; helpers/synthetic/__init__.py -> helpers.synthetic."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(root: Path, packages: Iterable[str] = PACKAGES) -> dict[str, Path]:
    """Every module of the packages under root, by dotted name."""
    found = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            found[module_name(path, root)] = path
    return found


def imported_names(tree: ast.AST, name: str, is_package: bool) -> set[str]:
    """Dotted names of everything a module imports, at any depth of its code."""
    found: set[str] = set()
    package = name if is_package else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from . import x, from .y import z
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                stem = ".".join([*base, node.module] if node.module else base)
            else:
                stem = node.module or ""
            # `from helpers import x` names helpers.x: a module, else something of helpers itself
            found.update(f"{stem}.{alias.name}" for alias in node.names)
    return found


def import_graph(root: Path = ROOT, packages: Iterable[str] = PACKAGES) -> Graph:
    """module -> the modules of the packages it imports (`from helpers import x` names helpers.x)."""
    known = modules(root, packages)
    graph: Graph = {}
    for name, path in known.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        names = imported_names(tree, name, path.name == "__init__.py")
        targets = set()
        for imported in names:
            # `from helpers.x import f` names helpers.x.f: the module is its longest known prefix
            parts = imported.split(".")
            for end in range(len(parts), 0, -1):
                candidate = ".".join(parts[:end])
                if candidate in known:
                    targets.add(candidate)
                    break
        graph[name] = targets - {name}
    return graph


def components(graph: Graph) -> list[set[str]]:
    """The strongly connected groups of more than one module: each holds at least one cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * len(graph) + 100))

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(set(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def cycles(graph: Graph) -> list[list[str]]:
    """One cycle of each strongly connected group, as a closed path a -> b -> ... -> a."""
    return [closed_path(graph, group) for group in components(graph)]


def closed_path(graph: Graph, group: set[str]) -> list[str]:
    """One cycle through a strongly connected group: a -> b -> ... -> a."""
    start = min(group)
    previous = {start: ""}
    queue = [start]
    while queue:  # breadth first, inside the group, back to the start
        node = queue.pop(0)
        for target in sorted(graph[node] & group):
            if target == start:
                path = [node]
                while previous[path[-1]]:
                    path.append(previous[path[-1]])
                return [*reversed(path), start]
            if target not in previous:
                previous[target] = node
                queue.append(target)
    raise AssertionError(f"{sorted(group)} is not strongly connected")


def reachable(graph: Graph, start: str) -> set[str]:
    """Every module start imports, directly or through others."""
    seen: set[str] = set()
    todo = [start]
    while todo:
        for target in graph.get(todo.pop(), ()):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def problems(root: Path = ROOT) -> list[str]:
    """One line per cycle, and per forbidden module helpers.taught reaches."""
    graph = import_graph(root)
    found = [" -> ".join(cycle) for cycle in cycles(graph)]
    if TAUGHT in graph:
        reached = reachable(graph, TAUGHT)
        found += [f"{TAUGHT} reaches {name}" for name in sorted(reached & NOT_FROM_TAUGHT)]
    return found


# --- the tests -------------------------------------------------------------------------------


def test_helpers_and_booktools_have_no_import_cycle() -> None:
    graph = import_graph()
    assert "helpers.pipeline" in graph and "booktools.book" in graph  # the graph was read
    found = cycles(graph)
    assert not found, "import cycles: " + "; ".join(" -> ".join(cycle) for cycle in found)


def test_taught_imports_only_plumbing() -> None:
    graph = import_graph()
    assert TAUGHT in graph, "helpers/taught.py is missing: run `make sync`"
    reached = reachable(graph, TAUGHT)
    assert not reached & NOT_FROM_TAUGHT, (
        f"helpers.taught reaches {sorted(reached & NOT_FROM_TAUGHT)}"
    )


def copy_packages(tmp_path: Path) -> Path:
    """A copy of helpers/ and booktools/ (sources only) to break on purpose."""
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("*.pyc"))
    return tmp_path


def test_the_checker_finds_a_cycle_hidden_in_a_function(tmp_path: Path) -> None:
    root = copy_packages(tmp_path)
    assert problems(root) == []
    stats = root / "helpers" / "stats.py"  # a leaf: imported by the pipeline's steps
    stats.write_text(
        stats.read_text(encoding="utf-8")
        + "\n\ndef _late() -> None:\n    from helpers import pipeline  # noqa: F401\n",
        encoding="utf-8",
    )
    found = problems(root)
    assert len(found) == 1 and "helpers.pipeline" in found[0] and "helpers.stats" in found[0]
    path = found[0].split(" -> ")
    assert path[0] == path[-1], "a cycle is reported as a closed path"


def test_the_checker_finds_taught_reaching_the_orchestrator(tmp_path: Path) -> None:
    root = copy_packages(tmp_path)
    taught = root / "helpers" / "taught.py"
    assert taught.is_file()
    # a module taught imports (or taught itself) gains an import of the training step
    leaf = min(import_graph(root)[TAUGHT], default=TAUGHT)
    path = root / Path(*leaf.split(".")).with_suffix(".py")
    if not path.is_file():
        path = root / Path(*leaf.split(".")) / "__init__.py"
    path.write_text(
        path.read_text(encoding="utf-8")
        + "\n\nif False:\n    import helpers.train  # noqa: F401\n",
        encoding="utf-8",
    )
    assert f"{TAUGHT} reaches helpers.train" in problems(root)


def test_relative_and_package_imports_resolve(tmp_path: Path) -> None:
    package = tmp_path / "helpers" / "thing"
    package.mkdir(parents=True)
    (tmp_path / "booktools").mkdir()
    (tmp_path / "helpers" / "__init__.py").write_text("from helpers.env import x\n")
    (tmp_path / "helpers" / "env.py").write_text("import helpers.thing.a\n")
    (package / "__init__.py").write_text("from .a import f\nfrom . import b\n")
    (package / "a.py").write_text("def f():\n    from ..env import x\n")
    (package / "b.py").write_text("from helpers.thing.a import f\n")
    graph = import_graph(tmp_path)
    assert graph["helpers.thing"] == {"helpers.thing.a", "helpers.thing.b"}
    assert graph["helpers.thing.a"] == {"helpers.env"}
    assert graph["helpers.thing.b"] == {"helpers.thing.a"}
    assert cycles(graph) == [["helpers.env", "helpers.thing.a", "helpers.env"]]


def test_the_site_steps_start_no_tensorflow() -> None:
    """Staging and building the site (booktools.site, with the export's file names) import no
    TensorFlow: its import costs a full build about 5 s of a single core."""
    code = (
        "import sys\n"
        "import booktools.site, booktools.perf, helpers.export, helpers.pipeline\n"
        "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]", done.stdout + done.stderr


if __name__ == "__main__":
    GRAPH = import_graph()
    for NAME in sorted(GRAPH):
        print(f"{NAME}: {', '.join(sorted(GRAPH[NAME])) or '-'}")
    for GROUP in components(GRAPH):
        print(f"modules in one cycle: {', '.join(sorted(GROUP))}")
    print("\n".join(problems()) or "no cycle")
