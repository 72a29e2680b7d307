"""record.py against the standard library: the same class bodies under ``record.dataclass`` and
``dataclasses.dataclass`` behave alike (construction, defaults, equality, hashing, repr,
freezing, replace, pickling), and the package defines its records with record.py only."""

from __future__ import annotations

import dataclasses
import pickle
import re
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import pytest

from flake8_convshape import record

PACKAGE = Path(__file__).resolve().parent.parent / "flake8_convshape"


def classes(dataclass: Callable[..., Any], field: Callable[..., Any]) -> Dict[str, type]:
    """The same bodies, decorated by one implementation (module-level names for pickle)."""

    @dataclass
    class Plain:
        a: int
        b: str = "x"
        items: List[int] = field(default_factory=list)

    @dataclass(frozen=True)
    class Frozen:
        name: str
        value: Optional[int] = None
        key: str = field(init=False, repr=False, compare=False)

        def __post_init__(self) -> None:
            object.__setattr__(self, "key", f"{self.name}={self.value}")

    @dataclass(frozen=True)
    class Child(Frozen):
        extra: Tuple[int, ...] = ()

    @dataclass
    class Hidden:
        shown: int
        secret: Dict[str, int] = field(default_factory=dict, repr=False, compare=False)

    @dataclass(frozen=True)
    class OwnEq:
        a: int

        def __eq__(self, other: object) -> bool:
            return isinstance(other, OwnEq) and other.a % 10 == self.a % 10

    @dataclass
    class OwnHash:
        a: int

        def __hash__(self) -> int:
            return 7

    @dataclass
    class Empty:
        pass

    return {c.__name__: c for c in (Plain, Frozen, Child, Hidden, OwnEq, OwnHash, Empty)}


OURS = classes(record.dataclass, record.field)
THEIRS = classes(dataclasses.dataclass, dataclasses.field)

CASES: List[Tuple[str, Tuple[Any, ...], Dict[str, Any]]] = [
    ("Plain", (1,), {}),
    ("Plain", (1, "y", [2]), {}),
    ("Plain", (), {"a": 3, "items": [4]}),
    ("Frozen", ("n",), {}),
    ("Frozen", ("n", 4), {}),
    ("Child", ("n", 4, (1, 2)), {}),
    ("Child", ("n",), {"extra": (3,)}),
    ("Hidden", (5,), {"secret": {"k": 1}}),
    ("OwnEq", (13,), {}),
    ("OwnHash", (1,), {}),
    ("Empty", (), {}),
]


def outcome(fn: Callable[[], Any]) -> Any:
    """What a call gives, with an exception reduced to its type (messages may differ)."""
    try:
        value = fn()
    except Exception as exc:  # noqa: BLE001
        return type(exc).__name__
    return value


def shown(value: Any) -> Any:
    return value if not isinstance(value, str) else re.sub(r"classes\.<locals>\.", "", value)


@pytest.mark.parametrize("name, args, kwargs", CASES)
def test_the_same_as_dataclasses(name, args, kwargs):
    ours, theirs = OURS[name](*args, **kwargs), THEIRS[name](*args, **kwargs)
    assert shown(repr(ours)) == shown(repr(theirs))
    assert vars(ours) == vars(theirs)
    twin_ours, twin_theirs = OURS[name](*args, **kwargs), THEIRS[name](*args, **kwargs)
    assert (ours == twin_ours) == (theirs == twin_theirs) is True
    assert (ours != twin_ours) == (theirs != twin_theirs) is False
    assert (ours == 1) == (theirs == 1) is False
    assert outcome(lambda: hash(ours) == hash(twin_ours)) == outcome(lambda: hash(theirs) == hash(twin_theirs))
    assert (type(ours).__hash__ is None) == (type(theirs).__hash__ is None)
    for attr in ("a", "name", "shown", "fresh"):
        assert outcome(lambda: setattr(ours, attr, 1)) == outcome(lambda: setattr(theirs, attr, 1))
        assert outcome(lambda: delattr(ours, attr)) == outcome(lambda: delattr(theirs, attr))


@pytest.mark.parametrize("name, args, kwargs", CASES)
def test_replace_is_the_same(name, args, kwargs):
    ours, theirs = OURS[name](*args, **kwargs), THEIRS[name](*args, **kwargs)
    for changes in ({}, {"a": 9}, {"value": 2}, {"key": "k"}, {"extra": (5,)}, {"nope": 1}):
        mine = outcome(lambda: vars(record.replace(ours, **changes)))
        standard = outcome(lambda: vars(dataclasses.replace(theirs, **changes)))
        assert mine == standard, changes


@pytest.mark.parametrize(
    "name, args, kwargs",
    [("Plain", (), {}), ("Plain", (1, "y", [], 4), {}), ("Plain", (1,), {"c": 2}), ("Plain", (1,), {"a": 2}),
     ("Frozen", (), {}), ("Frozen", ("n",), {"key": "k"}), ("Child", ("n", 1, (), 4), {})],
)
def test_wrong_arguments_fail_alike(name, args, kwargs):
    assert outcome(lambda: OURS[name](*args, **kwargs)) == outcome(lambda: THEIRS[name](*args, **kwargs)) == "TypeError"


def test_defaults_are_not_shared_and_the_frozen_error_is_the_standard_one():
    first, second = OURS["Plain"](1), OURS["Plain"](2)
    first.items.append(1)
    assert second.items == []
    with pytest.raises(dataclasses.FrozenInstanceError):
        OURS["Frozen"]("n").name = "m"  # type: ignore[misc]


def test_a_default_before_a_required_field_is_refused_when_the_class_is_defined():
    with pytest.raises(TypeError, match="non-default argument 'b' follows default argument"):

        @record.dataclass
        class Wrong:
            a: int = 0
            b: int


def test_records_survive_pickling():
    from flake8_convshape.findings import Finding

    finding = Finding(3, 4, "CVS101", "comment says 3, the code gives 4")
    again = pickle.loads(pickle.dumps(finding))
    assert again == finding and hash(again) == hash(finding) and repr(again) == repr(finding)


def test_the_package_defines_its_records_with_record_py():
    """``dataclasses`` costs every fresh process milliseconds (see record.py): only record.py
    may name it."""
    offenders = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if path.name != "record.py" and re.search(r"^\s*(from dataclasses import|import dataclasses)", path.read_text(), re.M)
    ]
    assert offenders == []
