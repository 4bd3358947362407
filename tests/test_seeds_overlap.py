"""The course's prose is its own: no run of 8 words in a lesson or exercise repeats the seed material.

The seed texts (the course's brief, kept beside the repository as ../shared/seeds/) are sources of
facts, not of sentences. Every markdown cell and every code comment of every lesson and exercise
source is cut into 8-word shingles (lower case, words only) and compared with the seeds'. A
student's clone has no seeds folder: the test then skips and says so. P2L_SEEDS_DIR overrides
the folder.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from conftest import ROOT

SEEDS = Path(os.environ.get("P2L_SEEDS_DIR", ROOT.parent / "shared" / "seeds"))
N = 8
NOTEBOOKS = sorted((ROOT / "lessons").glob("*.ipynb")) + sorted((ROOT / "solutions").glob("*/*.ipynb"))


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+(?:'[a-z]+)?", text.lower().replace("’", "'"))


def shingles(text: str, n: int = N) -> set[tuple[str, ...]]:
    w = words(text)
    return {tuple(w[i : i + n]) for i in range(len(w) - n + 1)}


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


def test_shingles_are_cut_from_words_only():
    assert shingles("A CNN classifier is a pipeline: image → feature maps → pooled", 8) == {
        ("a", "cnn", "classifier", "is", "a", "pipeline", "image", "feature"),
        ("cnn", "classifier", "is", "a", "pipeline", "image", "feature", "maps"),
        ("classifier", "is", "a", "pipeline", "image", "feature", "maps", "pooled"),
    }


@pytest.fixture(scope="module")
def seed_shingles() -> set[tuple[str, ...]]:
    files = sorted(SEEDS.glob("*.txt")) if SEEDS.is_dir() else []
    if not files:
        pytest.skip(f"no seed texts at {SEEDS} (a student's clone has none; CI keeps them in ../shared/seeds/)")
    return set().union(*(shingles(f.read_text(encoding="utf-8")) for f in files))


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_8_word_run_repeats_the_seeds(notebook: Path, seed_shingles):
    hits = sorted({" ".join(s) for text in prose(notebook) for s in shingles(text) & seed_shingles})
    assert not hits, f"{notebook.relative_to(ROOT)} repeats the seed texts; say it in your own words: {hits}"
