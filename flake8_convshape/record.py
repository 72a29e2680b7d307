"""``dataclass``, ``field`` and ``replace``: the standard library's, made cheaper to define.

``dataclasses.dataclass`` compiles five or six methods for every class (0.4 ms each on this
machine: 25 ms for the package's sixty) and ``import dataclasses`` brings ``inspect`` (4 ms
more): a third of a one-file ``convshape check`` in a fresh process, which editors and
pre-commit pay on every run. Here only ``__init__`` is compiled, once a class is first built
(it must be as fast as the standard one: the replay builds thousands of small records per
file); ``__eq__``, ``__hash__``, ``__repr__`` and the frozen ``__setattr__`` are closures over
the field names. The behaviour is the standard one for what this package uses (``frozen``,
defaults, ``field(default_factory=..., init=, repr=, compare=)``, ``__post_init__``,
inheritance, the rules for ``__hash__``); ``tests/test_record.py`` holds it against
``dataclasses`` class by class. mypy reads the standard ones.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Tuple, Type, TypeVar

if TYPE_CHECKING:
    from dataclasses import dataclass as dataclass
    from dataclasses import field as field
    from dataclasses import replace as replace
else:
    from operator import attrgetter

    _T = TypeVar("_T")
    _MISSING = object()
    _FIELDS = "__record_fields__"  # the class's fields, bases' first, once it is made

    class Field:
        """One field: what ``field(...)`` said, or its plain default."""

        __slots__ = ("name", "default", "default_factory", "init", "repr", "compare")

        def __init__(
            self,
            default: Any = _MISSING,
            default_factory: Any = _MISSING,
            init: bool = True,
            repr: bool = True,
            compare: bool = True,
        ) -> None:
            if default is not _MISSING and default_factory is not _MISSING:
                raise ValueError("cannot specify both default and default_factory")
            self.name = ""
            self.default = default
            self.default_factory = default_factory
            self.init = init
            self.repr = repr
            self.compare = compare

    def field(**kwargs: Any) -> Any:
        return Field(**kwargs)

    def dataclass(cls: Optional[type] = None, /, *, frozen: bool = False, eq: bool = True) -> Any:
        def mark(c: Type[_T]) -> Type[_T]:
            own = c.__dict__
            fields: List[Field] = []
            for name, annotation in own.get("__annotations__", {}).items():
                if isinstance(annotation, str) and annotation.replace("typing.", "").startswith("ClassVar"):
                    continue
                value = own.get(name, _MISSING)
                f = value if isinstance(value, Field) else Field(default=value)
                f.name = name
                if isinstance(value, Field):
                    if f.default is _MISSING:
                        delattr(c, name)
                    else:
                        setattr(c, name, f.default)
                fields.append(f)
            inherited: Dict[str, Field] = {}
            for base in reversed(c.__mro__[1:]):
                for f in base.__dict__.get(_FIELDS, ()):
                    inherited[f.name] = f
            inherited.update((f.name, f) for f in fields)
            every = tuple(inherited.values())
            defaulted = ""
            for f in every:
                if f.init and (f.default is not _MISSING or f.default_factory is not _MISSING):
                    defaulted = f.name
                elif f.init and defaulted:
                    raise TypeError(f"non-default argument {f.name!r} follows default argument")
            setattr(c, _FIELDS, every)
            _methods(c, every, frozen, eq)
            return c

        return mark if cls is None else mark(cls)

    def _methods(c: type, fields: Tuple[Field, ...], frozen: bool, eq: bool) -> None:
        own = c.__dict__
        shown = [f.name for f in fields if f.repr]
        compared = [f.name for f in fields if f.compare]
        values = attrgetter(*compared) if compared else (lambda self: ())
        if "__init__" not in own:
            c.__init__ = _first_init(c, frozen)  # type: ignore[misc]
        if "__repr__" not in own:

            def __repr__(self: Any) -> str:
                inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in shown)
                return f"{type(self).__qualname__}({inner})"

            __repr__.__qualname__ = f"{c.__qualname__}.__repr__"
            c.__repr__ = __repr__  # type: ignore[method-assign]
        if eq and "__eq__" not in own:

            def __eq__(self: Any, other: Any) -> Any:
                if other.__class__ is self.__class__:
                    return values(self) == values(other)
                return NotImplemented

            __eq__.__qualname__ = f"{c.__qualname__}.__eq__"
            c.__eq__ = __eq__  # type: ignore[method-assign,assignment]
        explicit_hash = "__hash__" in own and not (own["__hash__"] is None and "__eq__" in own)
        if eq and not explicit_hash:
            if frozen:

                def __hash__(self: Any) -> int:
                    return hash(values(self))

                __hash__.__qualname__ = f"{c.__qualname__}.__hash__"
                c.__hash__ = __hash__  # type: ignore[method-assign,assignment]
            else:
                c.__hash__ = None  # type: ignore[assignment]
        if frozen:
            names = frozenset(f.name for f in fields)

            def __setattr__(self: Any, name: str, value: Any) -> None:
                if type(self) is c or name in names:
                    _frozen(name)
                object.__setattr__(self, name, value)

            def __delattr__(self: Any, name: str) -> None:
                if type(self) is c or name in names:
                    _frozen(name)
                object.__delattr__(self, name)

            c.__setattr__ = __setattr__  # type: ignore[method-assign,assignment]
            c.__delattr__ = __delattr__  # type: ignore[method-assign,assignment]

    def _frozen(name: str) -> None:
        from dataclasses import FrozenInstanceError  # only here: its module is the slow one

        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def _first_init(c: type, frozen: bool) -> Callable[..., None]:
        """A stand-in that compiles the class's real ``__init__`` when the first instance is
        built (classes a run never builds never pay for it)."""

        def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
            if c.__dict__.get("__init__") is __init__:
                c.__init__ = _compile_init(c, frozen)  # type: ignore[misc]
            c.__init__(self, *args, **kwargs)  # type: ignore[misc]

        __init__.__qualname__ = f"{c.__qualname__}.__init__"
        return __init__

    def _compile_init(c: type, frozen: bool) -> Callable[..., None]:
        fields: Tuple[Field, ...] = c.__dict__[_FIELDS]
        params: List[str] = []
        body: List[str] = []
        scope: Dict[str, Any] = {"_MISSING": _MISSING, "_set": object.__setattr__}
        for i, f in enumerate(fields):
            if f.default is not _MISSING:
                scope[f"_d{i}"] = f.default
            if f.default_factory is not _MISSING:
                scope[f"_f{i}"] = f.default_factory
            if f.init:
                if f.default_factory is not _MISSING:
                    params.append(f"{f.name}=_MISSING")
                    value = f"_f{i}() if {f.name} is _MISSING else {f.name}"
                elif f.default is not _MISSING:
                    params.append(f"{f.name}=_d{i}")
                    value = f.name
                else:
                    params.append(f.name)
                    value = f.name
            elif f.default_factory is not _MISSING:
                value = f"_f{i}()"
            elif f.default is not _MISSING:
                value = f"_d{i}"
            else:
                continue
            body.append(f"_set(self, {f.name!r}, {value})" if frozen else f"self.{f.name} = {value}")
        if hasattr(c, "__post_init__"):
            body.append("self.__post_init__()")
        source = f"def __init__(self, {', '.join(params)}):\n    " + ("\n    ".join(body) or "pass") + "\n"
        exec(compile(source, f"<record {c.__qualname__}>", "exec"), scope)  # noqa: S102  our own text, not the user's
        init: Callable[..., None] = scope["__init__"]
        init.__qualname__ = f"{c.__qualname__}.__init__"
        return init

    def replace(obj: _T, /, **changes: Any) -> _T:
        """A copy of ``obj`` with ``changes``, as ``dataclasses.replace`` makes it."""
        for f in getattr(type(obj), _FIELDS):
            if not f.init:
                if f.name in changes:
                    raise ValueError(f"field {f.name} is declared with init=False, it cannot be specified with replace()")
                continue
            if f.name not in changes:
                changes[f.name] = getattr(obj, f.name)
        return type(obj)(**changes)
