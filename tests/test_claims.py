"""cu.expect: a lesson's claim about its own run stops the lesson, quoting the sentence, when it is false."""

from __future__ import annotations

import pytest
import torch

import course_utils as cu
from course_utils.claims import ClaimFailed


def test_a_true_claim_passes_silently(capsys):
    assert cu.expect(0.93 > 0.5, "the CNN beats chance", accuracy=0.93) is None
    assert cu.expect(torch.tensor(True), "a tensor's truth counts") is None
    assert capsys.readouterr() == ("", "")


def test_a_false_claim_quotes_the_sentence_and_the_values():
    with pytest.raises(ClaimFailed) as err:
        cu.expect(0.41 > 0.5, "the CNN is far ahead of the flat network", cnn=0.41, flat=torch.tensor([0.2, 0.25]))
    message = str(err.value)
    assert '"the CNN is far ahead of the flat network"' in message
    assert "cnn=0.41" in message and "flat=[0.2" in message
    assert isinstance(err.value, AssertionError)  # pytest and nbclient report it as a failed check


def test_floats_are_shown_to_four_digits():
    with pytest.raises(ClaimFailed, match=r"gap=0\.1235\)"):
        cu.expect(False, "within a few points", gap=0.123456789)


@pytest.mark.parametrize("claim", ["", "   ", None, 3])
def test_the_claim_must_be_a_sentence(claim):
    with pytest.raises(TypeError, match="claim must be the sentence"):
        cu.expect(True, claim)


def test_an_ambiguous_tensor_is_refused_not_guessed():
    with pytest.raises(RuntimeError):
        cu.expect(torch.tensor([True, False]), "every value is positive")
