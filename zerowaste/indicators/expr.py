"""Formula expressions of the indicator sets: parsed with `ast`, walked over a whitelist, never `eval`.

A formula is an arithmetic expression over input keys: numbers, `+ - * /`, parentheses, unary minus
and the functions `min`, `max`, `abs`. Anything else (attributes, subscripts, calls of other names,
comparisons, strings, lambdas ...) is refused when the set is loaded. Numbers are read from the source
text into `Decimal`, so `0.7` is exactly seven tenths; evaluation is exact `Decimal` arithmetic.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, DivisionByZero, InvalidOperation, localcontext
from typing import Protocol

FUNCTIONS: dict[str, Callable[..., Decimal]] = {"min": min, "max": max, "abs": abs}
MAX_LENGTH = 500


class FormulaError(ValueError):
    """The text is not a formula of the allowed form; the message says what and where (column)."""


class Unknown(Exception):
    """An input the formula needs has no value, or a division by zero: the figure is unknown."""

    def __init__(self, reason: str, key: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.key = key


# The tree is converted into these small immutable nodes; nothing of `ast` survives parsing.
@dataclass(frozen=True)
class Num:
    value: Decimal


@dataclass(frozen=True)
class Ref:
    key: str


@dataclass(frozen=True)
class Neg:
    operand: Node


@dataclass(frozen=True)
class Bin:
    op: str  # + - * /
    left: Node
    right: Node


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Node, ...]


Node = Num | Ref | Neg | Bin | Call

_BINOPS: dict[type[ast.operator], str] = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}


def parse(text: str) -> Node:
    """Parse a formula or raise FormulaError naming the offending part."""
    if not isinstance(text, str) or not text.strip():
        raise FormulaError("empty formula")
    if len(text) > MAX_LENGTH:
        raise FormulaError(f"formula longer than {MAX_LENGTH} characters")
    source = text.strip()
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        raise FormulaError(f"syntax error at column {exc.offset or 0}: {exc.msg}") from None
    return _convert(tree.body, source)


def _convert(node: ast.AST, source: str) -> Node:
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        # The digits as written, not the binary float Python made of them.
        segment = ast.get_source_segment(source, node) or repr(node.value)
        try:
            return Num(Decimal(segment.replace("_", "")))
        except InvalidOperation:
            raise FormulaError(f"not a number: {segment}") from None
    if isinstance(node, ast.Name):
        return Ref(node.id)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        operand = _convert(node.operand, source)
        return Neg(operand) if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        return Bin(_BINOPS[type(node.op)], _convert(node.left, source), _convert(node.right, source))
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in FUNCTIONS
        and not node.keywords
        and node.args
    ):
        if node.func.id == "abs" and len(node.args) != 1:
            raise FormulaError("abs takes one argument")
        return Call(node.func.id, tuple(_convert(a, source) for a in node.args))
    where = getattr(node, "col_offset", None)
    what = ast.get_source_segment(source, node) or type(node).__name__
    at = f" at column {where + 1}" if where is not None else ""
    raise FormulaError(f"not allowed in a formula{at}: {what}")


def references(node: Node) -> set[str]:
    """Every input key the formula reads."""
    if isinstance(node, Ref):
        return {node.key}
    if isinstance(node, Neg):
        return references(node.operand)
    if isinstance(node, Bin):
        return references(node.left) | references(node.right)
    if isinstance(node, Call):
        out: set[str] = set()
        for arg in node.args:
            out |= references(arg)
        return out
    return set()


def evaluate(node: Node, lookup: Callable[[str], Decimal]) -> Decimal:
    """The exact value; `lookup(key)` gives an input in base units or raises Unknown."""
    with localcontext() as ctx:
        ctx.prec = 34
        ctx.traps[DivisionByZero] = True
        ctx.traps[InvalidOperation] = True
        return _eval(node, lookup)


def _eval(node: Node, lookup: Callable[[str], Decimal]) -> Decimal:
    if isinstance(node, Num):
        return node.value
    if isinstance(node, Ref):
        return lookup(node.key)
    if isinstance(node, Neg):
        return -_eval(node.operand, lookup)
    if isinstance(node, Call):
        return Decimal(FUNCTIONS[node.name](*(_eval(a, lookup) for a in node.args)))
    left = _eval(node.left, lookup)
    right = _eval(node.right, lookup)
    if node.op == "+":
        return left + right
    if node.op == "-":
        return left - right
    if node.op == "*":
        return left * right
    if right == 0:
        raise Unknown("division by zero: " + unparse(node.right))
    return left / right


def unparse(node: Node) -> str:
    if isinstance(node, Num):
        return str(node.value)
    if isinstance(node, Ref):
        return node.key
    if isinstance(node, Neg):
        return f"-{unparse(node.operand)}"
    if isinstance(node, Call):
        return f"{node.name}({', '.join(unparse(a) for a in node.args)})"
    return f"({unparse(node.left)} {node.op} {unparse(node.right)})"


def infer(node: Node, unit_of: Mapping[str, object], combine: UnitAlgebra) -> object:
    """The unit of the result; `combine` says how units multiply/divide and when they may be added."""
    if isinstance(node, Num):
        return combine.one
    if isinstance(node, Ref):
        return unit_of[node.key]
    if isinstance(node, Neg):
        return infer(node.operand, unit_of, combine)
    if isinstance(node, Call):
        units = [infer(a, unit_of, combine) for a in node.args]
        for other in units[1:]:
            combine.same(units[0], other, f"{node.name}(…)")
        return units[0]
    left = infer(node.left, unit_of, combine)
    right = infer(node.right, unit_of, combine)
    if node.op in "+-":
        combine.same(left, right, unparse(node))
        return left
    return combine.mul(left, right) if node.op == "*" else combine.div(left, right)


class UnitAlgebra(Protocol):
    """What `infer` needs of a unit system; `rules.Units` provides it."""

    @property
    def one(self) -> object: ...

    def same(self, a: object, b: object, where: str) -> None: ...

    def mul(self, a: object, b: object) -> object: ...

    def div(self, a: object, b: object) -> object: ...
