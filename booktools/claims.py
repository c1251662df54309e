"""A chapter's claims about its default run, checked against the values it glued.

A chapter lists, in its front matter, what its prose says about the run on the synthetic
source, each claim as a sentence and a check over the names the chapter glued:

    happy_or_sad:
      claims:
        - says: augmentation and dropout lower the best validation loss
          check: augmented_val_loss < baseline_val_loss
          smoke: false        # true: also checked on the smoke run (make test)

After a chapter runs on the synthetic source, `python -m booktools.book` reads the glued values
from the executed notebook (myst_nb's glue outputs) and evaluates every claim the profile covers
(the full profile: all; smoke: those marked `smoke: true`). A check is a Python expression,
evaluated with only the glued names and a few builtins; no attribute access, no imports.
A claim that does not hold is one line: chapter, the sentence, the check and its values.
"""

from __future__ import annotations

import ast
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

META_KEY = "happy_or_sad"
RECORD_MIME = "application/papermill.record/"  # myst_nb.glue's mime prefix (scrapbook's)
OTHER_DATA_KEY = "on_other_data"  # a Markdown cell's metadata: its sentence on another source
BUILTINS: dict[str, Any] = {
    "abs": abs,
    "all": all,
    "any": any,
    "len": len,
    "max": max,
    "min": min,
    "round": round,
    "sorted": sorted,
    "sum": sum,
    "isclose": math.isclose,
    "isnan": math.isnan,
}
CLAIM_KEYS = {"says", "check", "smoke"}

# the expression nodes a check may use: arithmetic, comparisons, boolean logic, literals,
# subscripts (a glued dict's entries), calls of the builtins above, comprehensions
ALLOWED_NODES = (
    ast.Expression,
    ast.BoolOp,
    ast.And,
    ast.Or,
    ast.BinOp,
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.Div,
    ast.FloorDiv,
    ast.Mod,
    ast.Pow,
    ast.UnaryOp,
    ast.USub,
    ast.UAdd,
    ast.Not,
    ast.Compare,
    ast.Eq,
    ast.NotEq,
    ast.Lt,
    ast.LtE,
    ast.Gt,
    ast.GtE,
    ast.In,
    ast.NotIn,
    ast.Is,
    ast.IsNot,
    ast.IfExp,
    ast.Call,
    ast.Name,
    ast.Load,
    ast.Store,
    ast.Constant,
    ast.Subscript,
    ast.Slice,
    ast.Tuple,
    ast.List,
    ast.Set,
    ast.Dict,
    ast.GeneratorExp,
    ast.ListComp,
    ast.comprehension,
)


class ClaimError(ValueError):
    """A claim that is malformed (in the front matter) or cannot be checked."""


@dataclass(frozen=True)
class Claim:
    """One sentence of a chapter's prose about its default run, and how to check it."""

    says: str
    check: str
    smoke: bool = False

    def names(self) -> list[str]:
        """The glued names the check reads (not builtins, not a comprehension's own names)."""
        tree = parse_check(self.check)
        bound = {
            node.id
            for comp in ast.walk(tree)
            if isinstance(comp, ast.comprehension)
            for node in ast.walk(comp.target)
            if isinstance(node, ast.Name)
        }
        seen: list[str] = []
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                if node.id not in BUILTINS and node.id not in bound and node.id not in seen:
                    seen.append(node.id)
        return seen


def parse_check(check: str) -> ast.Expression:
    """The check's syntax tree; ClaimError if it is not a plain expression of allowed parts."""
    try:
        tree = ast.parse(check.strip(), mode="eval")
    except SyntaxError as error:
        raise ClaimError(f"check {check!r} is not a Python expression ({error.msg})") from None
    for node in ast.walk(tree):
        if not isinstance(node, ALLOWED_NODES):
            raise ClaimError(f"check {check!r} uses {type(node).__name__}, which a check may not")
        if isinstance(node, ast.Name) and node.id.startswith("_"):
            raise ClaimError(f"check {check!r} names {node.id}, which a check may not")
        if isinstance(node, ast.Call) and not (
            isinstance(node.func, ast.Name) and node.func.id in BUILTINS
        ):
            allowed = ", ".join(sorted(BUILTINS))
            raise ClaimError(f"check {check!r} calls something other than {allowed}")
    return tree


def claims_of(metadata: dict) -> list[Claim]:
    """The claims in a notebook's metadata (`happy_or_sad.claims`), validated."""
    entries = (metadata.get(META_KEY) or {}).get("claims") or []
    if not isinstance(entries, list):
        raise ClaimError(f"{META_KEY}.claims must be a list of {{says, check}} entries")
    claims = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or not {"says", "check"} <= set(entry):
            raise ClaimError(f"claim {index + 1} needs 'says' and 'check'")
        unknown = set(entry) - CLAIM_KEYS
        if unknown:
            raise ClaimError(f"claim {index + 1} has unknown key(s) {', '.join(sorted(unknown))}")
        if not isinstance(entry.get("smoke", False), bool):
            raise ClaimError(f"claim {index + 1}: 'smoke' is true or false")
        claim = Claim(
            str(entry["says"]).strip(), str(entry["check"]).strip(), entry.get("smoke", False)
        )
        parse_check(claim.check)
        claims.append(claim)
    return claims


def read_claims(notebook: Path) -> list[Claim]:
    """The claims of a notebook file (its metadata)."""
    data = json.loads(Path(notebook).read_text(encoding="utf-8"))
    return claims_of(data.get("metadata", {}))


# --- glued values -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Unreadable:
    """A glued value that is not a Python literal (a figure, a Markdown object): its text."""

    text: str

    def __repr__(self) -> str:
        return f"<unreadable glued value {self.text[:40]!r}>"


NUMPY_CALL = re.compile(r"^(np|numpy)\.[a-z_]+[0-9]*$")
CONSTANT_NAMES = {"nan": math.nan, "inf": math.inf, "NaN": math.nan, "True": True, "False": False}


def parse_value(text: str) -> Any:
    """A glued value from its text/plain repr: a Python literal, numpy scalars included.

    `np.float64(0.5)` -> 0.5, `np.True_` -> True, `{'a': np.int64(3)}` -> {'a': 3}, `nan` -> nan;
    anything else (a figure's repr, a Markdown object's) becomes Unreadable.
    """
    try:
        tree = ast.parse(text.strip(), mode="eval")
        return _literal(tree.body)
    except (SyntaxError, ValueError, TypeError, RecursionError):
        return Unreadable(text)


def _dotted(node: ast.AST) -> str:
    """'np.float64' for the attribute chain np.float64 (else '')."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _dotted(node.value)
        return f"{inner}.{node.attr}" if inner else ""
    return ""


def _literal(node: ast.AST) -> Any:
    """Evaluate a literal's syntax tree, numpy scalar reprs included; ValueError otherwise."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name) and node.id in CONSTANT_NAMES:
        return CONSTANT_NAMES[node.id]
    if isinstance(node, ast.Attribute) and _dotted(node) in ("np.True_", "numpy.True_"):
        return True
    if isinstance(node, ast.Attribute) and _dotted(node) in ("np.False_", "numpy.False_"):
        return False
    if isinstance(node, ast.Attribute) and _dotted(node) in ("np.nan", "np.inf"):
        return math.nan if node.attr == "nan" else math.inf
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _literal(node.operand)
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise ValueError("a sign on something that is not a number")
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.Tuple):
        return tuple(_literal(item) for item in node.elts)
    if isinstance(node, ast.List):
        return [_literal(item) for item in node.elts]
    if isinstance(node, ast.Set):
        return {_literal(item) for item in node.elts}
    if isinstance(node, ast.Dict) and None not in node.keys:
        return {_literal(k): _literal(v) for k, v in zip(node.keys, node.values, strict=True)}
    if (
        isinstance(node, ast.Call)
        and NUMPY_CALL.match(_dotted(node.func))
        and len(node.args) == 1
        and not node.keywords
    ):
        value = _literal(node.args[0])  # np.float64(0.5), np.int64(3), np.str_('a')
        kind = _dotted(node.func).split(".")[-1]
        if kind.startswith("float"):
            return float(value)
        if kind.startswith(("int", "uint")):
            return int(value)
        if kind.startswith("bool"):
            return bool(value)
        return value
    raise ValueError(f"not a literal: {type(node).__name__}")


def glued_values(notebook: dict | Path) -> dict[str, Any]:
    """Every value glued in an executed notebook (the last one where a name is glued twice)."""
    if not isinstance(notebook, dict):
        notebook = json.loads(Path(notebook).read_text(encoding="utf-8"))
    values: dict[str, Any] = {}
    for cell in notebook.get("cells", []):
        for output in cell.get("outputs", []) or []:
            scrap = (output.get("metadata") or {}).get("scrapbook") or {}
            name = scrap.get("name")
            if not name:
                continue
            data = output.get("data") or {}
            text = data.get(f"{RECORD_MIME}text/plain")
            if isinstance(text, list):
                text = "".join(text)
            values[name] = parse_value(text) if text is not None else Unreadable("")
    return values


# --- checking ---------------------------------------------------------------------------------


def shown(value: Any) -> str:
    """A value in a failure line: floats to 6 significant digits, the rest as repr."""
    if isinstance(value, float):
        return f"{value:.6g}"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def evaluate(claim: Claim, values: dict[str, Any]) -> bool:
    """Whether the claim holds on these values; ClaimError when it cannot be checked."""
    names = claim.names()
    unglued = [name for name in names if name not in values]
    if unglued:
        raise ClaimError(f"names value(s) the chapter never glued: {', '.join(unglued)}")
    unreadable = [name for name in names if isinstance(values[name], Unreadable)]
    if unreadable:
        raise ClaimError(
            f"glued value(s) that are not numbers or literals: {', '.join(unreadable)}"
        )
    code = compile(parse_check(claim.check), "<claim>", "eval")
    scope = {"__builtins__": {}, **BUILTINS, **{name: values[name] for name in names}}
    try:
        return bool(eval(code, scope))  # noqa: S307 - checked above: names and builtins only
    except Exception as error:  # noqa: BLE001 - a check that fails to evaluate is one line
        raise ClaimError(f"{claim.check}: {type(error).__name__}: {error}") from None


def applies(claim: Claim, profile_name: str) -> bool:
    """The full profile checks every claim; any other (smoke) only those marked smoke."""
    return claim.smoke or profile_name == "full"


def check(stem: str, claims: list[Claim], values: dict[str, Any], profile_name: str) -> list[str]:
    """One line per claim that does not hold (or cannot be checked) on this run's values."""
    problems = []
    for claim in claims:
        if not applies(claim, profile_name):
            continue
        try:
            holds = evaluate(claim, values)
        except ClaimError as error:
            problems.append(f'{stem}: claim "{claim.says}" cannot be checked: {error}')
            continue
        if not holds:
            given = ", ".join(f"{name}={shown(values[name])}" for name in claim.names())
            problems.append(
                f'{stem}: claim "{claim.says}" does not hold: {claim.check}'
                + (f" with {given}" if given else "")
            )
    return problems


def check_executed(source: Path, executed: Path, profile_name: str) -> list[str]:
    """The source chapter's claims checked against its executed copy's glued values."""
    claims = read_claims(source)
    if not claims:
        return []
    return check(Path(source).stem, claims, glued_values(Path(executed)), profile_name)


# --- other sources: the sentences that hold only on the default data ----------------------------


def replace_for_other_data(notebook: Any) -> int:
    """Replace each Markdown cell whose metadata has `on_other_data` by that sentence.

    `notebook` is an nbformat notebook (changed in place); returns how many cells were replaced.
    A chapter's reading of the default run ("augmentation lowers the validation loss") becomes,
    on a reader's own source, the neutral sentence the cell names for that case.
    """
    replaced = 0
    for cell in notebook.cells:
        if cell.cell_type != "markdown":
            continue
        sentence = cell.metadata.get(OTHER_DATA_KEY)
        if sentence is None:
            continue
        if not isinstance(sentence, str) or not sentence.strip():
            raise ClaimError(f"a Markdown cell's {OTHER_DATA_KEY} must be one non-empty sentence")
        cell.source = sentence.strip()
        replaced += 1
    return replaced
