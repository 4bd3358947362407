"""Claims a lesson's prose makes about its own run, checked right after the measurement.

A lesson says "the CNN is far ahead" or "within a few points" about numbers it
has just measured. On another machine, seed or library version those numbers
move; when they move far enough to make a sentence false, the lesson must stop
with a message that quotes the sentence, rather than go on contradicting itself.
`make test` executes every lesson, so it fails too.

    cu.expect(acc_cnn > acc_flat + 0.2, "the CNN is far more accurate than the flat networks",
              cnn=acc_cnn, flat=acc_flat)
"""

from __future__ import annotations

from typing import Any

__all__ = ["ClaimFailed", "expect"]


class ClaimFailed(AssertionError):
    """A sentence of the lesson is false for this run; the message quotes it and the measured values."""


def _show(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if hasattr(value, "tolist"):  # tensors and arrays: their plain values
        value = value.tolist()
    return repr(value)


def expect(condition: Any, claim: str, **measured: Any) -> None:
    """Stop the lesson if a sentence its text states about this run is false.

    Call it right after the measurement the sentence is about. Nothing is
    printed when the claim holds.

    Args:
        condition: the claim as a truth value (a bool, or a one-element tensor).
        claim: the sentence (or the part of it) the text states, quoted in the error.
        **measured: the values the claim is about, shown in the error (floats to 4 digits).

    Raises:
        ClaimFailed: ``condition`` is false; the message quotes ``claim`` and ``measured``.
        TypeError: ``claim`` is not a non-empty string.

    Introduced in lesson 00.
    """
    if not isinstance(claim, str) or not claim.strip():
        raise TypeError(f"expect(condition, claim): claim must be the sentence being checked, got {claim!r}")
    if bool(condition):
        return
    values = ", ".join(f"{name}={_show(value)}" for name, value in measured.items())
    raise ClaimFailed(
        f'This run contradicts the lesson\'s text: "{claim}" is false here'
        + (f" (measured: {values})" if values else "")
        + ". The lesson's prose must be corrected (or the margin in the claim widened), "
        "not this check removed."
    )
