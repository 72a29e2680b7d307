"""A block's input size stated by code: ``x = x.view(-1, 1, 32, 32, 32)`` in ``forward()`` right
before ``self.features(x)``.

The view is code, not a comment: a wrong one would make the model fail, so the sizes it gives
are facts the block's comments are compared with (as the sizes of a layer are). It is read only
on a straight line: the view is the tensor's last assignment before the block's one call in
``forward()``, with no branch or loop between, its first size the batch (``-1``,
``x.size(0)``, ``x.shape[0]``) and every other size an integer literal or a module-level integer
constant. Anything else says nothing.
"""

from __future__ import annotations

import ast
from typing import Dict, Iterable, List, Optional, Sequence, Set, Union

from ..program import ViewSeed
from .walk import walk

_VIEWS = ("view", "reshape")
_SIMPLE = (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.Expr, ast.Return, ast.Pass)


def forward_view(tree: ast.AST, scopes: Sequence[ast.AST], call: ast.Call, lines: Sequence[str]) -> Optional[ViewSeed]:
    """The input size ``forward()`` gives the block built by ``call`` (``self.attr =
    nn.Sequential(...)`` in a method of a class), or None."""
    cls = next((s for s in reversed(scopes) if isinstance(s, ast.ClassDef)), None)
    method = scopes[-1] if scopes and isinstance(scopes[-1], ast.FunctionDef) else None
    if cls is None or method is None or scopes[-2] is not cls:
        return None
    attr = _assigned_attr(method, call)
    forward = next((n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "forward"), None)
    if attr is None or forward is None or _calls(forward, attr) != 1:
        return None
    views: Dict[str, Optional[ast.Call]] = {}  # name -> the view it was last assigned, if one
    for stmt in forward.body:
        if not isinstance(stmt, _SIMPLE):
            views.clear()  # a branch or a loop: what reaches the call is no longer one line
            continue
        value = getattr(stmt, "value", None)
        target = _block_call(value, attr) if value is not None else None
        if target is not None:
            arg = target.args[0]
            view = views.get(arg.id) if isinstance(arg, ast.Name) else _as_view(arg)
            if view is None:
                return None
            local = {a.arg for a in forward.args.args + forward.args.kwonlyargs} | _assigned_names(forward)
            return _seed(view, _module_constants(tree), local, lines)
        for name in _targets(stmt):
            views[name] = _as_view(value) if isinstance(stmt, ast.Assign) and value is not None else None
    return None


def _assigned_attr(method: ast.FunctionDef, call: ast.Call) -> Optional[str]:
    for stmt in method.body:
        if isinstance(stmt, (ast.Assign, ast.AnnAssign)) and stmt.value is call:
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            if len(targets) == 1:
                t = targets[0]
                if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == "self":
                    return t.attr
    return None


def _is_block(func: ast.expr, attr: str) -> bool:
    return isinstance(func, ast.Attribute) and func.attr == attr and isinstance(func.value, ast.Name) and func.value.id == "self"


def _calls(forward: ast.FunctionDef, attr: str) -> int:
    """How often forward mentions ``self.attr`` (called or not)."""
    return sum(1 for n in walk(forward) if isinstance(n, ast.Attribute) and _is_block(n, attr))


def _block_call(value: ast.expr, attr: str) -> Optional[ast.Call]:
    """``self.attr(x)`` as the statement's value or anywhere inside it (``return self.fc(
    self.features(x).flatten(1))``); None when it has other arguments."""
    for n in walk(value):
        if isinstance(n, ast.Call) and _is_block(n.func, attr):
            return n if len(n.args) == 1 and not n.keywords and not isinstance(n.args[0], ast.Starred) else None
    return None


def _as_view(value: Optional[ast.expr]) -> Optional[ast.Call]:
    if (
        isinstance(value, ast.Call)
        and isinstance(value.func, ast.Attribute)
        and value.func.attr in _VIEWS
        and not value.keywords
    ):
        return value
    return None


def _targets(stmt: ast.stmt) -> Iterable[str]:
    targets: List[ast.expr] = []
    if isinstance(stmt, ast.Assign):
        targets = list(stmt.targets)
    elif isinstance(stmt, (ast.AnnAssign, ast.AugAssign)):
        targets = [stmt.target]
    for t in targets:
        for n in walk(t):
            if isinstance(n, ast.Name):
                yield n.id
    for n in walk(stmt):
        if isinstance(n, ast.NamedExpr):  # a walrus inside any statement rebinds its name too
            yield n.target.id
        elif isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and isinstance(n.func.value, ast.Name):
            if n.func.attr.endswith("_"):  # ``x.unsqueeze_(1)``: in place
                yield n.func.value.id


def _assigned_names(fn: ast.FunctionDef) -> Set[str]:
    return {n.id for n in walk(fn) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}


def _module_constants(tree: ast.AST) -> Dict[str, int]:
    """``SIZE = 32`` at module level, assigned once."""
    seen: Dict[str, List[Optional[int]]] = {}
    for stmt in getattr(tree, "body", []):
        for name in _targets(stmt) if isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign)) else ():
            value = getattr(stmt, "value", None)
            single = isinstance(stmt, (ast.Assign, ast.AnnAssign)) and _targets_are_one_name(stmt)
            literal = value.value if single and isinstance(value, ast.Constant) else None
            seen.setdefault(name, []).append(literal if isinstance(literal, int) and not isinstance(literal, bool) else None)
    return {k: v[0] for k, v in seen.items() if len(v) == 1 and v[0] is not None}


def _targets_are_one_name(stmt: Union[ast.Assign, ast.AnnAssign]) -> bool:
    targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
    return len(targets) == 1 and isinstance(targets[0], ast.Name)


def _is_batch(node: ast.expr) -> bool:
    """``-1``, ``x.size(0)`` or ``x.shape[0]``."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
        return node.operand.value == 1
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "size":
        return len(node.args) == 1 and not node.keywords and _zero(node.args[0])
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute) and node.value.attr == "shape":
        return _zero(node.slice)
    return False


def _zero(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value == 0 and not isinstance(node.value, bool)


def _seed(view: ast.Call, constants: Dict[str, int], local: Set[str], lines: Sequence[str]) -> Optional[ViewSeed]:
    args = list(view.args)
    if len(args) == 1 and isinstance(args[0], (ast.Tuple, ast.List)):
        args = list(args[0].elts)
    if not 2 <= len(args) <= 5 or not _is_batch(args[0]):
        return None
    sizes: List[int] = []
    for a in args[1:]:
        if isinstance(a, ast.Constant) and isinstance(a.value, int) and not isinstance(a.value, bool):
            value: Optional[int] = a.value
        elif isinstance(a, ast.Name) and a.id not in local:
            value = constants.get(a.id)
        else:
            value = None
        if value is None or value <= 0:
            return None
        sizes.append(value)
    line = lines[view.lineno - 1] if 0 < view.lineno <= len(lines) and view.lineno == view.end_lineno else ""
    text = line.encode("utf-8")[view.col_offset : view.end_col_offset].decode("utf-8", "replace") or "the view"
    return ViewSeed(tuple(sizes), view.lineno, text)
