"""Small helpers over Python's ``ast`` shared by the grader's readers of source (lint, answer_scan, byo)."""

from __future__ import annotations

import ast
import threading


def dotted_name(node: ast.AST, *, partial: bool = False) -> str | None:
    """``a.b.c`` for the expression ``a.b.c``.

    When the chain does not start at a plain name (``f().b.c``), the answer is ``None``, or with
    ``partial`` the attribute part alone (``"b.c"``; ``""`` for a node that is no attribute or name at all).
    """
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    elif not partial:
        return None
    return ".".join(reversed(parts))


_CONVERTING = threading.Lock()


def parse(source: str, filename: str = "<unknown>", mode: str = "exec") -> ast.Module:
    """``ast.parse``, one thread at a time.

    The grader reads sources in several threads (``autograde --jobs``). CPython 3.11 keeps the recursion
    counter of its C-to-Python syntax-tree conversion in interpreter-wide state, which threads share, and a
    grading thread here failed with "SystemError: AST constructor recursion depth mismatch" (the symptom of
    CPython issue 106905; seen once while grading 626 mutants two at a time). Parsing is fast; a lock costs
    nothing measurable.
    """
    with _CONVERTING:
        return ast.parse(source, filename=filename, mode=mode)
