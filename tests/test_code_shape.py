"""Readability limits of the package (docs/ARCHITECTURE.md, Conventions): no file over 600 lines and
no function over 80 lines in zoo/."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ZOO = ROOT / "zoo"
MAX_FILE_LINES, MAX_FUNCTION_LINES = 600, 80


def test_no_file_over_600_lines():
    long = {str(p.relative_to(ZOO.parent)): n for p in ZOO.rglob("*.py")
            if (n := p.read_text(encoding="utf-8").count("\n")) > MAX_FILE_LINES}
    assert not long, f"files over {MAX_FILE_LINES} lines: {long}"


def test_no_function_over_80_lines():
    long = {}
    for path in ZOO.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long[f"{path.relative_to(ZOO.parent)}:{node.name}"] = length
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines: {long}"


def test_test_file_names_are_unique():
    """tests/ folders have no __init__.py, so pytest imports test files by basename: two files of one name
    stop the whole collection ("import file mismatch")."""
    names = {}
    for path in sorted((ROOT / "tests").rglob("test_*.py")):
        names.setdefault(path.name, []).append(str(path.relative_to(ROOT)))
    assert {n: p for n, p in names.items() if len(p) > 1} == {}
