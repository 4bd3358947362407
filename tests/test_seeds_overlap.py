"""The course's prose is its own: no run of 8 words in a lesson or exercise repeats the seed material.

The seed texts (the course's brief, kept beside the repository as ../shared/seeds/) are sources of
facts, not of sentences. Every markdown cell and every code comment of every lesson and exercise
is cut into 8-word shingles (lower case, words only) and compared with the seeds' shingles.

A clone (CI's, a student's) has no seeds folder, so the seeds' shingles are committed, as hashes
only, in ``tests/data/seed_shingles.txt``: the comparison runs everywhere, and the seed sentences
are not in the repository. Where the seeds folder exists, the hash file must match it. After the
seeds change, regenerate it with::

    .venv/bin/python tests/test_seeds_overlap.py --regenerate

P2L_SEEDS_DIR overrides the seeds folder (for the check and for ``--regenerate``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from pathlib import Path

import pytest

from conftest import ROOT

SEEDS = Path(os.environ.get("P2L_SEEDS_DIR", ROOT.parent / "shared" / "seeds"))
HASHES = ROOT / "tests" / "data" / "seed_shingles.txt"
N = 8
NOTEBOOKS = sorted((ROOT / "lessons").glob("*.ipynb")) + sorted((ROOT / "solutions").glob("*/*.ipynb"))
HEADER = f"""\
# The {N}-word shingles of the seed texts (../shared/seeds/*.txt), one a line: the first 16 hex digits
# of the SHA-256 of the shingle's words joined by single spaces (tests/test_seeds_overlap.py:
# shingle_hash). Hashes only, never the texts. Generated: do not edit; after the seeds change, run
#     .venv/bin/python tests/test_seeds_overlap.py --regenerate
"""


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+(?:'[a-z]+)?", text.lower().replace("’", "'"))


def shingles(text: str, n: int = N) -> set[tuple[str, ...]]:
    w = words(text)
    return {tuple(w[i : i + n]) for i in range(len(w) - n + 1)}


def shingle_hash(shingle: tuple[str, ...]) -> str:
    return hashlib.sha256(" ".join(shingle).encode("utf-8")).hexdigest()[:16]


def repeats(text: str, hashes: set[str]) -> set[str]:
    """The 8-word runs of ``text`` whose hashes are in ``hashes``, as phrases."""
    return {" ".join(s) for s in shingles(text) if shingle_hash(s) in hashes}


def seed_hashes(folder: Path) -> set[str]:
    """Hashes of every shingle of the seed texts in ``folder`` (each file cut on its own)."""
    return {shingle_hash(s) for f in sorted(folder.glob("*.txt")) for s in shingles(f.read_text(encoding="utf-8"))}


def committed_hashes() -> set[str]:
    lines = HASHES.read_text(encoding="utf-8").splitlines()
    return {line.strip() for line in lines if line.strip() and not line.startswith("#")}


def prose(notebook: Path) -> list[str]:
    """Markdown cells, and the comments of code cells, as separate texts (a shingle never spans two)."""
    texts = []
    for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]:
        source = "".join(cell["source"])
        if cell["cell_type"] == "markdown":
            texts.append(source)
        else:
            texts.append("\n".join(m.group(1) for m in re.finditer(r"#\s?(.*)$", source, flags=re.M)))
    return texts


def _has_seeds() -> bool:
    return SEEDS.is_dir() and any(SEEDS.glob("*.txt"))


def test_shingles_are_cut_from_words_only():
    assert shingles("A CNN classifier is a pipeline: image → feature maps → pooled", 8) == {
        ("a", "cnn", "classifier", "is", "a", "pipeline", "image", "feature"),
        ("cnn", "classifier", "is", "a", "pipeline", "image", "feature", "maps"),
        ("classifier", "is", "a", "pipeline", "image", "feature", "maps", "pooled"),
    }


def test_a_near_verbatim_sentence_is_caught_through_the_hashes():
    source = "The quick brown fox, they say, jumps over the lazy dog every single morning."
    hashes = {shingle_hash(s) for s in shingles(source)}
    copied = "As THE quick-brown fox (they say) jumps over the lazy dog; we disagree."
    assert repeats(copied, hashes) == {"the quick brown fox they say jumps over", "quick brown fox they say jumps over the",
                                       "brown fox they say jumps over the lazy", "fox they say jumps over the lazy dog"}  # fmt: skip
    assert not repeats("The quick brown fox, they say, leaps over the lazy dog.", hashes)  # no 8 words in a row


def test_the_hash_file_holds_hashes_only():
    lines = [line for line in HASHES.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    assert lines and all(re.fullmatch(r"[0-9a-f]{16}", line) for line in lines), f"{HASHES.name}: one hex digest a line"
    assert lines == sorted(set(lines)), f"{HASHES.name}: sorted and unique (regenerate it)"


@pytest.mark.skipif(not _has_seeds(), reason=f"no seed texts at {SEEDS}: the committed hashes cannot be compared with them")
def test_the_hash_file_matches_the_seeds():
    assert committed_hashes() == seed_hashes(SEEDS), (
        f"{HASHES.relative_to(ROOT)} is out of date with {SEEDS}: run `.venv/bin/python tests/test_seeds_overlap.py --regenerate`"
    )


@pytest.mark.skipif(not _has_seeds(), reason=f"no seed texts at {SEEDS} to take a sentence from")
def test_a_seed_sentence_is_caught_by_the_committed_hashes():
    """A real seed sentence, re-cased and re-punctuated, is caught by the hashes that are committed."""
    hashes = committed_hashes()
    text = " ".join(f.read_text(encoding="utf-8") for f in sorted(SEEDS.glob("*.txt")))
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", text) if len(words(s)) >= N]
    assert sentences, f"no sentence of {N} words or more in {SEEDS}"
    for sentence in sentences[:: max(1, len(sentences) // 5)]:
        near_verbatim = " ".join(words(sentence)).upper().replace(" ", ", ", 1) + "!"
        assert repeats(near_verbatim, hashes), "a seed sentence slipped through the committed hashes"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_8_word_run_repeats_the_seeds(notebook: Path):
    hashes = committed_hashes()
    hits = sorted(set().union(*(repeats(text, hashes) for text in prose(notebook))))
    assert not hits, f"{notebook.relative_to(ROOT)} repeats the seed texts; say it in your own words: {hits}"


if __name__ == "__main__":
    if sys.argv[1:] != ["--regenerate"]:
        sys.exit(f"usage: {sys.argv[0]} --regenerate  (writes {HASHES.relative_to(ROOT)} from {SEEDS})")
    if not _has_seeds():
        sys.exit(f"no seed texts (*.txt) at {SEEDS}; set P2L_SEEDS_DIR")
    digests = sorted(seed_hashes(SEEDS))
    HASHES.parent.mkdir(parents=True, exist_ok=True)
    HASHES.write_text(HEADER + "".join(f"{d}\n" for d in digests), encoding="utf-8")
    print(f"wrote {len(digests)} hashes to {HASHES.relative_to(ROOT)}")
