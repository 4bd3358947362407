"""Bring an LMS download (zip or folder) into nbgrader's ``submitted/<student>/<assignment>/`` layout.

Recognised layouts, per file:

* **Canvas**: ``name_userid_submissionid_original.ipynb`` (``name_LATE_userid_...``
  for late ones); Canvas appends ``-1``, ``-2`` to re-submitted file names.
* **Moodle**: ``Full Name_12345_assignsubmission_file_/original.ipynb``.
* **Plain**: ``studentid/.../file.ipynb`` (one folder per student, optionally
  inside a single wrapping folder).

An optional roster CSV maps LMS ids to student ids: a ``student_id`` column and
an ``lms_id`` (or ``canvas_id``/``moodle_id``/``id``) column; with a roster,
files of people not on it are reported and not collected.

Several copies of one notebook from one student: the latest wins (Canvas
submission id, else the file time). A collected submission is never replaced
silently: a newer one moves the old folder to ``collected/<student>/<assignment>/``
first, and an older one is saved there instead of being installed. Every
decision is listed in the report.
"""

from __future__ import annotations

import csv
import hashlib
import re
import shutil
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

CANVAS = re.compile(r"^(?P<name>[A-Za-z0-9-]+?)_(?:(?P<late>LATE)_)?(?P<uid>\d+)_(?P<sid>\d+)_(?P<orig>.+)$")
MOODLE = re.compile(r"^(?P<name>.+)_(?P<uid>\d+)_assignsubmission_(?:file|onlinetext)_?$")
COPY_SUFFIX = re.compile(r"(?:-\d+| \(\d+\)|-Copy\d+|_copy\d*| copy\d*)$", re.I)
MAX_FILE_BYTES = 64 * 2**20
MAX_TOTAL_BYTES = 4 * 2**30
JUNK = {"__MACOSX", ".DS_Store", "Thumbs.db", ".ipynb_checkpoints"}
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f %Z"


@dataclass
class Entry:
    path: str  # inside the download
    data: bytes
    mtime: datetime


@dataclass
class Candidate:
    entry: Entry
    key: str  # LMS id or folder name
    original: str  # original file name
    order: tuple  # newer sorts later
    layout: str


@dataclass
class CollectReport:
    collected: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    older: list[str] = field(default_factory=list)
    superseded: list[str] = field(default_factory=list)
    unknown_students: list[str] = field(default_factory=list)
    unmatched_files: list[str] = field(default_factory=list)
    no_submission: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = []
        for title, items in (
            ("collected", self.collected),
            ("replaced (previous copy kept)", self.replaced),
            ("unchanged", self.unchanged),
            ("NOT installed: older than the submission already collected (saved)", self.older),
            ("ignored: an older copy in this download", self.superseded),
            ("NOT collected: student not on the roster", self.unknown_students),
            ("NOT collected: file not recognised", self.unmatched_files),
            ("no submission in this download", self.no_submission),
        ):
            if items:
                out.append(f"{title} ({len(items)}):")
                out += [f"  {item}" for item in items]
        return out or ["nothing to collect"]


def read_entries(path: Path) -> list[Entry]:
    """Every file of a zip or a folder (never extracted to the paths it names)."""
    entries, total = [], 0
    if path.is_file() and zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                parts = PurePosixPath(info.filename.replace("\\", "/")).parts
                if info.is_dir() or any(p in JUNK or p.startswith("._") for p in parts):
                    continue
                if info.file_size > MAX_FILE_BYTES:
                    raise ValueError(f"{info.filename}: {info.file_size} bytes is too large for a notebook")
                total += info.file_size
                if total > MAX_TOTAL_BYTES:
                    raise ValueError("the download is larger than 4 GB")
                with zf.open(info) as fh:
                    data = fh.read(MAX_FILE_BYTES + 1)
                if len(data) > MAX_FILE_BYTES:
                    raise ValueError(f"{info.filename}: too large")
                mtime = datetime(*info.date_time, tzinfo=timezone.utc)
                entries.append(Entry("/".join(p for p in parts if p not in ("", ".", "..")), data, mtime))
    elif path.is_dir():
        for file in sorted(path.rglob("*")):
            rel = file.relative_to(path)
            if not file.is_file() or file.is_symlink() or any(p in JUNK or p.startswith("._") for p in rel.parts):
                continue
            if file.stat().st_size > MAX_FILE_BYTES:
                raise ValueError(f"{rel}: too large for a notebook")
            entries.append(
                Entry(rel.as_posix(), file.read_bytes(), datetime.fromtimestamp(file.stat().st_mtime, tz=timezone.utc))
            )
    else:
        raise ValueError(f"{path} is neither a zip file nor a folder")
    return entries


def classify(entries: list[Entry]) -> tuple[list[Candidate], list[str]]:
    """Who each file is from, and its original name."""
    out, unknown = [], []
    tops = {e.path.split("/", 1)[0] for e in entries}
    strip_top = len(tops) == 1 and all(e.path.count("/") >= 2 for e in entries)
    for entry in entries:
        parts = entry.path.split("/")
        if strip_top:
            parts = parts[1:]
        moodle = next((MOODLE.match(p) for p in parts[:-1] if MOODLE.match(p)), None)
        canvas = CANVAS.match(parts[-1])
        if moodle:
            out.append(Candidate(entry, moodle["uid"], parts[-1], (entry.mtime,), "moodle"))
        elif canvas and len(parts) <= 2:
            out.append(Candidate(entry, canvas["uid"], canvas["orig"], (int(canvas["sid"]), entry.mtime), "canvas"))
        elif len(parts) >= 2:
            out.append(Candidate(entry, parts[0], parts[-1], (entry.mtime,), "plain"))
        else:
            unknown.append(entry.path)
    return out, unknown


def read_roster(path: Path) -> dict[str, str]:
    """LMS id (and student id) -> student id."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    mapping: dict[str, str] = {}
    for row in rows:
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
        student = row.get("student_id") or row.get("student") or row.get("username")
        if not student:
            continue
        mapping[student] = student
        for column in ("lms_id", "canvas_id", "moodle_id", "id", "user_id", "sis_user_id"):
            if row.get(column):
                mapping[row[column]] = student
    return mapping


def _valid_student(name: str) -> bool:
    return bool(re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}", name))


def _target_name(original: str, notebooks: set[str]) -> str:
    """``ex01_tensors-1.ipynb`` -> ``ex01_tensors.ipynb`` when that is an assignment notebook."""
    stem, dot, ext = original.rpartition(".")
    if not dot:
        stem, ext = original, ""
    cleaned = stem
    while COPY_SUFFIX.search(cleaned):
        cleaned = COPY_SUFFIX.sub("", cleaned)
        if f"{cleaned}.{ext}" in notebooks:
            return f"{cleaned}.{ext}"
    name = original if f"{stem}.{ext}" in notebooks or not dot else f"{stem}.{ext}"
    return re.sub(r"[^A-Za-z0-9._ ()+-]", "_", name)[:200]


def _assignment_of(name: str, layout: str, assignment: str | None, by_notebook: dict[str, str]) -> str | None:
    if assignment:
        return assignment
    return by_notebook.get(name)


def _folder_sha(folder: Path) -> dict[str, str]:
    return (
        {
            p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in folder.iterdir()
            if p.is_file() and p.name != "timestamp.txt"
        }
        if folder.is_dir()
        else {}
    )


def _read_timestamp(folder: Path) -> datetime | None:
    try:
        text = (folder / "timestamp.txt").read_text(encoding="utf-8").strip()
    except OSError:
        return None
    from dateutil.parser import parse

    try:
        value = parse(text)
    except (ValueError, OverflowError):
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def collect(
    root: Path, source: Path, assignment: str | None = None, roster: Path | None = None, dry_run: bool = False
) -> CollectReport:
    """Collect ``source`` into ``root/submitted``; see the module docstring."""
    from grader.state import Course

    report = CollectReport()
    course = Course(root)
    solutions = course.solutions
    by_notebook: dict[str, str] = {}
    notebooks_of: dict[str, set[str]] = {}
    for folder in sorted(solutions.iterdir()) if solutions.is_dir() else []:
        names = {p.name for p in folder.glob("*.ipynb")}
        if names:
            notebooks_of[folder.name] = names
            for name in names:
                by_notebook[name] = folder.name
    if assignment and assignment not in notebooks_of:
        raise ValueError(f"no assignment {assignment!r} in {solutions}")
    all_notebooks = set(by_notebook) | (notebooks_of.get(assignment, set()) if assignment else set())
    names = read_roster(roster) if roster else None
    candidates, unknown = classify(read_entries(source))
    report.unmatched_files += [f"{p}: not in a student folder and not an LMS file name" for p in unknown]

    groups: dict[tuple[str, str, str], list[Candidate]] = {}
    for cand in candidates:
        student = names.get(cand.key) if names is not None else cand.key
        if student is None:
            report.unknown_students.append(f"{cand.entry.path} (id {cand.key})")
            continue
        if not _valid_student(student):
            report.unmatched_files.append(f"{cand.entry.path}: {student!r} is not a usable student id")
            continue
        target = _target_name(cand.original, notebooks_of.get(assignment, all_notebooks) if assignment else all_notebooks)
        which = _assignment_of(target, cand.layout, assignment, by_notebook)
        if which is None:
            report.unmatched_files.append(
                f"{cand.entry.path}: '{target}' is not a notebook of any assignment (use --assignment to collect it anyway)"
            )
            continue
        groups.setdefault((student, which, target), []).append(cand)

    per_folder: dict[tuple[str, str], dict[str, Candidate]] = {}
    for (student, which, target), cands in sorted(groups.items()):
        cands.sort(key=lambda c: c.order)
        latest = cands[-1]
        for older in cands[:-1]:
            report.superseded.append(f"{older.entry.path} (a later copy from {student} is in this download)")
        per_folder.setdefault((student, which), {})[target] = latest

    for (student, which), files in sorted(per_folder.items()):
        folder = course.submitted / student / which
        when = max(c.entry.mtime for c in files.values())
        incoming = {name: hashlib.sha256(c.entry.data).hexdigest() for name, c in files.items()}
        label = f"{student}/{which}: {', '.join(sorted(files))}"
        existing = _folder_sha(folder)
        if existing and all(existing.get(n) == h for n, h in incoming.items()):
            report.unchanged.append(label)
            continue
        if existing:
            previous = _read_timestamp(folder)
            if previous is not None and previous >= when:
                keep = root / "collected" / student / which / f"{when:%Y%m%dT%H%M%S}-older-not-used"
                report.older.append(
                    f"{label} (submitted {when:%Y-%m-%d %H:%M}, the collected one is from "
                    f"{previous:%Y-%m-%d %H:%M}; saved to {keep.relative_to(root)})"
                )
                if not dry_run:
                    _write(keep, files, when)
                continue
            archive = root / "collected" / student / which / f"{(previous or datetime.now(timezone.utc)):%Y%m%dT%H%M%S}"
            n = 1
            while archive.exists():
                archive = archive.with_name(f"{archive.name.split('~')[0]}~{n}")
                n += 1
            report.replaced.append(f"{label} (previous copy moved to {archive.relative_to(root)})")
            if not dry_run:
                archive.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(str(folder), str(archive))
                _write(folder, files, when)
            continue
        report.collected.append(label)
        if not dry_run:
            _write(folder, files, when)

    if names is not None:
        seen = {s for s, _w in per_folder}
        report.no_submission += sorted({s for s in names.values() if s not in seen})
    return report


def _write(folder: Path, files: dict[str, Candidate], when: datetime) -> None:
    tmp = folder.with_name(f".{folder.name}.collecting")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name, cand in files.items():
        (tmp / name).write_bytes(cand.entry.data)
    (tmp / "timestamp.txt").write_text(when.strftime(TIMESTAMP_FORMAT), encoding="utf-8")
    if folder.exists():
        shutil.rmtree(folder)
    tmp.rename(folder)
