"""flake8's ``# noqa`` as every front end and the replay read it.

The replay needs it too: a comment its author silenced for our codes is not evidence when the
block's comments are weighed against each other.
"""

from __future__ import annotations

import re

# "# noqa" alone silences the line, "# noqa: CVS101,E501" those codes
NOQA = re.compile(r"#\s*noqa(?::[\s]?(?P<codes>[A-Z][0-9]+(?:[,\s]+[A-Z][0-9]+)*))?", re.I)


def silenced(line_text: str, code: str) -> bool:
    """True when the line's ``# noqa`` covers ``code``."""
    m = NOQA.search(line_text)
    if m is None:
        return False
    codes = m.group("codes")
    if not codes:
        return True
    return any(code.startswith(c.upper()) for c in re.split(r"[,\s]+", codes) if c)
