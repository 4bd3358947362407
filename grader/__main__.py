"""Command line of the course's instructor tools: ``python -m grader COMMAND``.

Commands:
  build      rebuild lessons/ and solutions/ notebooks from src/ (``--check``: only report)
  release    regenerate exercises/ from solutions/ with nbgrader (``--check``: only report)
"""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name, text in (("build", "rebuild notebooks from src/"), ("release", "regenerate exercises/ with nbgrader")):
        p = sub.add_parser(name, help=text)
        p.add_argument("--check", action="store_true", help="write nothing; exit 1 if anything is out of date")
    args = parser.parse_args(argv)

    if args.command == "build":
        from grader import build

        return build.main(["--check"] if args.check else [])
    if args.command == "release":
        from grader import course

        stale = course.release(check=args.check)
        for path in stale:
            print(("out of date: " if args.check else "released: ") + str(path.relative_to(course.ROOT)))
        leaks = course.release_leaks()
        for problem in leaks:
            print("LEAK: " + problem, file=sys.stderr)
        if leaks or (args.check and stale):
            return 1
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
