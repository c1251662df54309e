"""The book's budgets, measured on the chapter sources: prose, visible code, asserts, generated prose.

    python -m booktools.budget [--strict]

Per chapter (notebooks/NN_name.ipynb) and for the book:

- **words**: prose words of the Markdown cells (front matter excluded: it is notebook metadata);
  a word is a run of letters or digits; a glue role (``{glue:text}`name:.1f` ``) is one word;
  label lines (`(ch05-x)=`), directive fences and options (```` ```{figure} ````, `:name:`) and
  HTML comments are not prose;
- **code**: visible code lines: the non-blank lines of code cells the page shows (not tagged
  hide-cell, hide-input, remove-cell or remove-input, nor papermill's injected parameters);
  the chapter's parameters cell and the answer-key cells count;
- **asserts**: `assert` statements in all code cells (Python's own parser);
- **prose fns**: functions in chapter code that return prose (see `prose_functions`);
- **Markdown**: calls of `Markdown(...)` in code cells, sentences glued as Markdown.

`make lint` prints the table; `--strict` exits 1 when a budget is exceeded.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import sys
from dataclasses import dataclass, fields
from pathlib import Path

from helpers.paths import NOTEBOOKS

BOOK_WORDS = 18_000
CHAPTER_WORDS = 2_500
BOOK_CODE_LINES = 2_200
CHAPTER_ASSERTS = 8
PROSE_FUNCTIONS = 0
MARKDOWN_GLUES = 0

HIDDEN = {"hide-cell", "hide-input", "remove-cell", "remove-input"}
PARAMETERS = {"injected-parameters"}  # papermill's overrides, hidden on the page by the runner

GLUE_ROLE = re.compile(r"\{glue(?::[\w-]+)?\}`[^`]*`")
WORD = re.compile(r"[^\W_]+(?:['’.-][^\W_]+)*")
NOT_PROSE_LINE = re.compile(
    r"^\s*(\([\w-]+\)=\s*$|`{3,}|~{3,}|:{3,}|:[\w-]+:(\s|$)|\+\+\+|<!--.*-->\s*$)"
)
COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)


def prose_words(markdown: str) -> int:
    """Words of prose in one Markdown cell (a glue role is one word)."""
    text = COMMENT.sub(" ", markdown)
    lines = [line for line in text.splitlines() if not NOT_PROSE_LINE.match(line)]
    text = GLUE_ROLE.sub(" glued ", "\n".join(lines))
    return len(WORD.findall(text))


# --- code -------------------------------------------------------------------------------------


def python_of(cell_source: str) -> str | None:
    """The Python of a code cell: magics and shell lines as `pass`; None for a non-Python cell.

    `%%writefile` cells hold a Python file shown to the reader: its body is parsed.
    """
    lines = cell_source.splitlines()
    if lines and lines[0].lstrip().startswith("%%"):
        if not lines[0].lstrip().startswith("%%writefile"):
            return None
        lines = lines[1:]
    out = []
    for line in lines:
        stripped = line.lstrip()
        if stripped.startswith(("%", "!")):
            out.append(line[: len(line) - len(stripped)] + "pass")
        else:
            out.append(line)
    return "\n".join(out)


def parse(cell_source: str) -> ast.Module | None:
    """The cell's syntax tree, or None when it is not Python."""
    code = python_of(cell_source)
    if code is None:
        return None
    try:
        return ast.parse(code)
    except SyntaxError:
        return None


# A "text fragment" is a string literal, or the literal part of an f-string, holding at least two
# words of letters separated by white space ("better than", "the same (on"): prose, as opposed to
# a single word ("happy"), a format ("{:.1f}%"), a file name ("model.keras"), an identifier
# ("val_loss") or a separator (", ").
TEXT = re.compile(r"(?<![\w.])[A-Za-z]{2,}[,;:!?)\]'\"]*\s+[(\['\"]*[A-Za-z]{2,}(?![\w])")


def is_text(literal: str) -> bool:
    """Whether a literal string holds prose (two words separated by white space)."""
    return bool(TEXT.search(literal))


def builds_text(node: ast.AST | None, prose: set[str], texts: set[str]) -> bool:
    """Whether an expression builds prose: it is or contains a text fragment, by construction.

    Text-building expressions: a text literal; an f-string with a text fragment; `+` or `%`
    with a text side; `x.format(...)` on text; `sep.join(items)` with a text separator or
    items (a list, tuple or comprehension) that build text; a conditional with a text
    branch; a tuple or list with a text element; `Markdown(text)`, `str(text)`; a call of
    a chapter function in `prose`; a name in `texts` (assigned text earlier in the function).
    """

    def text(item: ast.AST | None) -> bool:
        return builds_text(item, prose, texts)

    if node is None:
        return False
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and is_text(node.value)
    if isinstance(node, ast.JoinedStr):
        literal = " ".join(
            part.value if isinstance(part, ast.Constant) else "{}" for part in node.values
        )
        return is_text(literal) or any(
            text(part.value) for part in node.values if isinstance(part, ast.FormattedValue)
        )
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mod)):
        return text(node.left) or text(node.right)
    if isinstance(node, ast.IfExp):
        return text(node.body) or text(node.orelse)
    if isinstance(node, (ast.Tuple, ast.List)):
        return any(text(item) for item in node.elts)
    if isinstance(node, (ast.ListComp, ast.GeneratorExp)):
        return text(node.elt)
    if isinstance(node, ast.Name):
        return node.id in texts
    if isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "join":
            return text(func.value) or any(text(arg) for arg in node.args)
        if isinstance(func, ast.Attribute) and func.attr == "format":
            return text(func.value)
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
        if name in ("Markdown", "str"):
            return any(text(arg) for arg in node.args)
        return name in prose
    return False


def _own_nodes(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.AST]:
    """The function's own statements' nodes, in order, not those of functions nested in it."""
    found: list[ast.AST] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                continue
            found.append(child)
            visit(child)

    visit(function)
    return found


def returns_prose(function: ast.FunctionDef | ast.AsyncFunctionDef, prose: set[str]) -> bool:
    """Whether one of the function's `return` values builds prose (see builds_text)."""
    texts: set[str] = set()
    nodes = _own_nodes(function)
    for _ in range(3):  # names assigned from names assigned text: a few rounds settle it
        for node in nodes:
            if isinstance(node, ast.Assign) and builds_text(node.value, prose, texts):
                for target in node.targets:
                    texts |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
            elif isinstance(node, (ast.AugAssign, ast.AnnAssign)) and isinstance(
                node.target, ast.Name
            ):
                if builds_text(node.value, prose, texts):
                    texts.add(node.target.id)
    return any(
        isinstance(node, ast.Return) and builds_text(node.value, prose, texts) for node in nodes
    )


def prose_functions(trees: list[ast.Module]) -> list[str]:
    """The names of the chapter's functions that return prose, a sentence or a phrase.

    A function returns prose when one of its `return` values builds text (`builds_text`),
    directly or through a name assigned text in the function or a call of another such
    function of the chapter (found by repeating until nothing changes).
    """
    functions = [
        node
        for tree in trees
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    ]
    prose: set[str] = set()
    changed = True
    while changed:
        changed = False
        for function in functions:
            if function.name not in prose and returns_prose(function, prose):
                prose.add(function.name)
                changed = True
    return [f.name for f in functions if f.name in prose]


def markdown_glues(trees: list[ast.Module]) -> int:
    """Calls of Markdown(...) (IPython's) in the chapter's code."""
    return sum(
        1
        for tree in trees
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and (
            (isinstance(node.func, ast.Name) and node.func.id == "Markdown")
            or (isinstance(node.func, ast.Attribute) and node.func.attr == "Markdown")
        )
    )


# --- per chapter ------------------------------------------------------------------------------


@dataclass
class Measures:
    """One chapter's (or the book's) measures."""

    words: int = 0
    code: int = 0
    asserts: int = 0
    prose_fns: int = 0
    markdown: int = 0

    def __add__(self, other: Measures) -> Measures:
        return Measures(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))


def measure(cells: list[dict]) -> tuple[Measures, list[str]]:
    """The measures of a chapter's cells (notebook JSON), and its prose functions' names."""
    result = Measures()
    trees = []
    for cell in cells:
        source = "".join(cell.get("source", ""))
        if cell.get("cell_type") == "markdown":
            result.words += prose_words(source)
        elif cell.get("cell_type") == "code":
            tags = set(cell.get("metadata", {}).get("tags", []))
            if not tags & (HIDDEN | PARAMETERS):
                result.code += sum(1 for line in source.splitlines() if line.strip())
            tree = parse(source)
            if tree is not None:
                trees.append(tree)
    result.asserts = sum(isinstance(n, ast.Assert) for tree in trees for n in ast.walk(tree))
    names = prose_functions(trees)
    result.prose_fns = len(names)
    result.markdown = markdown_glues(trees)
    return result, names


def chapters(folder: Path | None = None) -> list[Path]:
    """The chapter notebooks, in order."""
    return sorted(p for p in (folder or NOTEBOOKS).glob("[0-9][0-9]_*.ipynb"))


def breaches(name: str, m: Measures, book: bool = False) -> list[str]:
    """What exceeds its budget, one phrase each."""
    limits = (
        [("words", BOOK_WORDS), ("code", BOOK_CODE_LINES)]
        if book
        else [
            ("words", CHAPTER_WORDS),
            ("asserts", CHAPTER_ASSERTS),
            ("prose_fns", PROSE_FUNCTIONS),
            ("markdown", MARKDOWN_GLUES),
        ]
    )
    return [
        f"{name}: {label.replace('_', ' ')} {getattr(m, label):,} > {limit:,}"
        for label, limit in limits
        if getattr(m, label) > limit
    ]


def report(folder: Path | None = None) -> tuple[str, list[str]]:
    """The table, and the breaches of the budgets."""
    rows, problems, total = [], [], Measures()
    for path in chapters(folder):
        measures, names = measure(json.loads(path.read_text(encoding="utf-8"))["cells"])
        total += measures
        problems += breaches(path.stem, measures)
        rows.append((path.stem, measures, names))
    problems += breaches("book", total, book=True)
    header = (
        f"{'chapter':<18} {'words':>6} {'code':>5} {'asserts':>7} {'prose fns':>9} {'Markdown':>8}"
    )
    lines = [header]
    for name, m, names in rows:
        fns = f"  ({', '.join(names)})" if names else ""
        lines.append(
            f"{name:<18} {m.words:>6,} {m.code:>5,} {m.asserts:>7} {m.prose_fns:>9} "
            f"{m.markdown:>8}{fns}"
        )
    lines.append(
        f"{'book':<18} {total.words:>6,} {total.code:>5,} {total.asserts:>7} "
        f"{total.prose_fns:>9} {total.markdown:>8}"
    )
    lines.append(
        f"{'budget':<18} {BOOK_WORDS:>6,} {BOOK_CODE_LINES:>5,} {'8/ch':>7} "
        f"{PROSE_FUNCTIONS:>9} {MARKDOWN_GLUES:>8}   (words: {CHAPTER_WORDS:,} a chapter)"
    )
    return "\n".join(lines), problems


def main(argv: list[str] | None = None) -> int:
    """Print the budgets' table; with --strict, exit 1 when one is exceeded."""
    parser = argparse.ArgumentParser(
        prog="python -m booktools.budget", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 when a budget is exceeded")
    args = parser.parse_args(argv)
    table, problems = report()
    print(table)
    if problems:
        print(f"over budget ({len(problems)}):\n  " + "\n  ".join(problems))
    else:
        print("every budget is met")
    return 1 if problems and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
