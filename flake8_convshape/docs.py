"""README and docs/ sections generated from the code (codes table, examples, layer list); a test
keeps them equal."""

from __future__ import annotations

from typing import Dict, List

from .codes import readme_table


def layer_list() -> str:
    """Every class name the catalog knows, grouped by family."""
    from .layers import CATALOG

    families: Dict[str, List[str]] = {}
    for name, spec in CATALOG.items():
        families.setdefault(spec.family, []).append(name)
    rows = ["| family | layers |", "|---|---|"]
    for family in sorted(families):
        rows.append(f"| {family} | {', '.join(sorted(families[family]))} |")
    return "\n".join(rows)


def example_source(snippet: str) -> str:
    """A code's README example as a whole module (the README shows only the snippet): the
    layers of a Sequential, or a ``forward()`` of a module."""
    body = "".join(f"    {line}\n" for line in snippet.splitlines())
    if snippet.startswith("def forward"):
        return f"import torch\nimport torch.nn as nn\n\n\nclass Block(nn.Module):\n{body}"
    return f"import torch.nn as nn\n\nblock = nn.Sequential(\n{body})\n"


def example_findings(snippet: str) -> List[str]:
    from .analysis import check_source

    return [f"{f.code} {f.message}" for f in check_source(example_source(snippet))]


def examples() -> str:
    """Before/after for every code, with the message the checker really prints."""
    from .codes import CODES

    out: List[str] = []
    for c in CODES.values():
        out.append(f"**{c.code}**: {c.summary}.\n")
        out.append("```python\n# before\n" + c.example_bad + "\n```")
        for line in example_findings(c.example_bad):
            out.append(f"> {line}\n")
        out.append("```python\n# after\n" + c.example_good + "\n```\n")
    return "\n".join(out)


SECTIONS = {"codes": readme_table, "layers": layer_list, "examples": examples}


def render(readme: str) -> str:
    """The README with every ``<!-- begin NAME -->...<!-- end NAME -->`` section regenerated."""
    for name, make in SECTIONS.items():
        begin, end = f"<!-- begin {name} -->", f"<!-- end {name} -->"
        head, sep, rest = readme.partition(begin)
        if not sep:
            continue
        _, sep2, tail = rest.partition(end)
        if not sep2:
            continue
        readme = f"{head}{begin}\n{make()}\n{end}{tail}"
    return readme


if __name__ == "__main__":  # python -m flake8_convshape.docs README.md docs/*.md  rewrites them in place
    import sys

    for path in sys.argv[1:] or ["README.md"]:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(render(text))
