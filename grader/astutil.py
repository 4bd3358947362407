"""Small helpers over Python's ``ast`` shared by the grader's readers of source (lint, answer_scan, byo)."""

from __future__ import annotations

import ast


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
