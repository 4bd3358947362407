"""What a student never sees: the ``### BEGIN/END HIDDEN TESTS`` blocks of the assignment's test cells.

:func:`hidden_line_numbers` finds them (the plan uses it to know which checks are hidden);
:class:`HideHiddenTests` removes them from feedback. `python -m grader feedback` uses it, and so does
nbgrader's own ``generate_feedback`` (formgrader's button, ``nbgrader generate_feedback``) through
``grader/nbgrader_config.py``. Light on purpose: nbgrader imports it when it reads its configuration.
"""

from __future__ import annotations

from nbconvert.preprocessors import Preprocessor
from traitlets import Bool

HIDDEN_BEGIN, HIDDEN_END = "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"


def hidden_line_numbers(source: str) -> set[int]:
    """1-based numbers of the lines inside ``### BEGIN/END HIDDEN TESTS`` blocks (an unclosed block runs to the
    end of the cell), markers included."""
    out, inside = set(), False
    for number, line in enumerate(source.splitlines(), 1):
        if HIDDEN_BEGIN in line:
            inside = True
        if inside:
            out.add(number)
        if HIDDEN_END in line:
            inside = False
    return out


class HideHiddenTests(Preprocessor):
    """Remove ``### BEGIN/END HIDDEN TESTS`` blocks from the assignment's test cells (and only there).

    Unlike nbgrader's ``ClearHiddenTests`` it never fails: a student's own cell that contains the marker
    text is left alone (it is not a test cell), and an unclosed block in a test cell is removed to the end
    of the cell.
    """

    enabled = Bool(True)

    def preprocess_cell(self, cell, resources, index):
        meta = cell.get("metadata", {}).get("nbgrader", {}) or {}
        if cell.get("cell_type") == "code" and meta.get("grade") and not meta.get("solution"):
            source = cell.get("source", "")
            source = "".join(source) if isinstance(source, list) else str(source)
            hidden = hidden_line_numbers(source)
            if hidden:
                kept, said = [], False
                for number, line in enumerate(source.splitlines(), 1):
                    if number not in hidden:
                        kept.append(line)
                    elif not said:
                        indent = line[: len(line) - len(line.lstrip())]
                        kept.append(f"{indent}# (hidden tests: not shown)")
                        said = True
                cell["source"] = "\n".join(kept)
        return cell, resources
