"""Markdown helpers of the docs generator: table cells, tables, code blocks, counts."""

from __future__ import annotations

import html


def cell(value) -> str:
    """A value as one Markdown table cell: no line breaks, `|` escaped, HTML shown as text."""
    text = "–" if value is None or value == "" else str(value)
    return html.escape(" ".join(text.split()), quote=False).replace("|", "\\|")


def table(head, rows, *, right=()) -> str:
    """A Markdown table; columns named in `right` are right-aligned (numbers). Empty without rows."""
    rows = list(rows)
    if not rows:
        return ""
    align = ["---:" if h in right else "---" for h in head]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(cell(v) if not isinstance(v, Raw) else str(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


class Raw(str):
    """Markdown that goes into a table cell as written (a link, inline code)."""


def link(text, target) -> Raw:
    return Raw(f"[{cell(text)}]({target})")


def code(text) -> Raw:
    """Inline code in a table cell (backticks inside are replaced: Markdown cannot escape them there)."""
    return Raw("`" + " ".join(str(text).split()).replace("`", "'").replace("|", "\\|") + "`")


def block(text, lang="text") -> str:
    fence = "````" if "```" in text else "```"
    return f"{fence}{lang}\n{text.rstrip()}\n{fence}\n"


def count(n) -> str:
    """A parameter count as `zoo info` prints it (134,489,759)."""
    return f"{int(n):,}"


def size(n_bytes) -> str:
    if n_bytes is None:
        return "not published"
    return f"{n_bytes / 2**20:,.1f} MiB ({int(n_bytes):,} bytes)"
