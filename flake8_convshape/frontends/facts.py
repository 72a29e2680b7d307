"""What a whole file says about its names that no single scope can: argparse defaults,
dataclasses, ``self.x`` assignments per class; and the plain literals and dotted names the
scopes and the evaluator share."""

from __future__ import annotations

import ast
from typing import Dict, FrozenSet, Iterator, List, Optional, Set, Tuple, Union

from ..dims import Poly
from ..layers.base import UNKNOWN, Value
from .walk import walk

MAX_MAGNITUDE = 10**15  # beyond this an "integer" is not a tensor size; keeps pow() cheap
Method = Union[ast.FunctionDef, ast.AsyncFunctionDef]
SelfAssignment = Union[ast.Assign, ast.AugAssign, ast.AnnAssign]


def dotted(node: ast.AST) -> Optional[str]:
    """``self.ngf`` / ``opt.ngf`` as text, for attribute chains over a plain name."""
    parts: List[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


# what a file's text must say for it to have argparse defaults or dataclasses at all
FACT_WORDS = frozenset({"add_argument", "dataclass"})


class FileFacts:
    """What the whole file says that a single scope cannot: argparse defaults, dataclasses,
    ``self.x`` assignments per class. Built on first need, once per file. ``words``: which of
    FACT_WORDS the file's text holds (a file that says neither is not walked for them)."""

    def __init__(self, module: ast.AST, words: FrozenSet[str] = FACT_WORDS):
        self.argparse: Dict[str, Value] = {}
        self.dataclasses: Dict[str, ast.ClassDef] = {}
        conflicts: Set[str] = set()
        for node in walk(module) if words else ():
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                if node.func.attr == "add_argument":
                    dest, default = argparse_default(node)
                    if dest is None:
                        continue
                    if dest in self.argparse and self.argparse[dest] != default:
                        conflicts.add(dest)
                    self.argparse[dest] = default
            elif isinstance(node, ast.ClassDef) and any(
                (dotted(d) or dotted(getattr(d, "func", d)) or "").split(".")[-1] == "dataclass"
                for d in node.decorator_list
            ):
                self.dataclasses[node.name] = node
        for dest in conflicts:
            self.argparse[dest] = UNKNOWN
        for dest, default in self.argparse.items():
            if default is None:  # no default, or default=None: the user must give it
                self.argparse[dest] = UNKNOWN
        self._self_attrs: Dict[int, Dict[str, List[Tuple[Method, SelfAssignment]]]] = {}
        self._assigned: Dict[int, FrozenSet[str]] = {}

    def assigned_attrs(self, cls: ast.ClassDef) -> FrozenSet[str]:
        """The attribute names an ``=`` in the class assigns to (once per class)."""
        found = self._assigned.get(id(cls))
        if found is None:
            found = self._assigned[id(cls)] = _assigned_attrs(cls)
        return found

    def self_assignments(self, cls: ast.ClassDef) -> Dict[str, List[Tuple[Method, SelfAssignment]]]:
        """attr -> [(method, statement)] for every ``self.attr = ...`` in the class's methods."""
        found = self._self_attrs.get(id(cls))
        if found is not None:
            return found
        found = {}
        for method in cls.body:
            if not isinstance(method, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in _statements(method):
                if not isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
                    continue
                targets: List[ast.AST] = list(node.targets) if isinstance(node, ast.Assign) else [node.target]
                for t in targets:
                    for sub in walk(t):
                        if isinstance(sub, ast.Attribute) and isinstance(sub.value, ast.Name) and sub.value.id == "self":
                            found.setdefault(sub.attr, []).append((method, node))
        self._self_attrs[id(cls)] = found
        return found


# where statements hold statements (and except handlers / match cases hold statements too)
BLOCK_FIELDS = ("body", "orelse", "finalbody", "handlers", "cases")


def _statements(node: ast.AST) -> Iterator[ast.AST]:
    """Every statement below ``node`` (nested defs included), not the expressions in them: an
    assignment is a statement, and a method's expressions are most of its nodes."""
    todo = [node]
    while todo:
        node = todo.pop()
        for name in BLOCK_FIELDS:
            children = getattr(node, name, None)
            if children:
                todo.extend(children)
                yield from children


def _assigned_attrs(cls: ast.ClassDef) -> FrozenSet[str]:
    """Every attribute name an ``=`` anywhere in the class assigns to (``x.attr = ...``,
    ``x.attr[i] = ...``, ``x.attr.y = ...``)."""
    out: Set[str] = set()
    for node in walk(cls):
        if isinstance(node, ast.Assign):
            for t in node.targets:
                out.update(n.attr for n in walk(t) if isinstance(n, ast.Attribute))
    return frozenset(out)


def argparse_default(call: ast.Call) -> Tuple[Optional[str], Value]:
    """``add_argument("--ngf", type=int, default=64)`` -> ("ngf", 64)."""
    dest: Optional[str] = None
    for a in call.args:
        if isinstance(a, ast.Constant) and isinstance(a.value, str) and a.value.startswith("--"):
            dest = a.value[2:].replace("-", "_")
            break
    default: Value = None
    for k in call.keywords:
        if k.arg == "dest" and isinstance(k.value, ast.Constant) and isinstance(k.value.value, str):
            dest = k.value.value
        if k.arg == "default":
            default = literal(k.value)
        if k.arg in ("action", "nargs", "choices"):
            default = UNKNOWN if k.arg != "choices" else default
    return dest, default


def literal(node: ast.AST) -> Value:
    if isinstance(node, ast.Constant):
        v = node.value
        if isinstance(v, bool) or v is None or isinstance(v, (str, float)):
            return v
        if isinstance(v, int) and abs(v) <= MAX_MAGNITUDE:
            return Poly.const(v)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = literal(node.operand)
        return -inner if isinstance(inner, (Poly, float)) else UNKNOWN
    return UNKNOWN
