"""Worked solutions for instructors: ``python -m bn_course.exercises solutions [notebook]``.

Prints, as Markdown, every registered exercise's worked solution (its idea, then its code),
for the whole course or one notebook (a stem such as ``02_numpy_formula``, or just ``02``).
Learners see one solution at a time in the notebook, with ``show_solution(notebook, key)``.
An unknown notebook is one line on stderr with exit code 2.
"""

import argparse
import sys

from bn_course.exercises import EXERCISES
from bn_course.exercises.common import solution_markdown
from bn_course.navigation import NOTEBOOKS


def solutions(notebook=None):
    """The Markdown of every registered solution, or of one notebook's (ValueError if there is no such notebook)."""
    titles = dict(NOTEBOOKS)
    if notebook is None:
        chosen = list(titles)
    else:
        chosen = [stem for stem in titles if notebook in (stem, stem[:2])]
        if not chosen:
            raise ValueError(f"no notebook {notebook!r}; notebooks are: {', '.join(titles)}")
    parts = ["# Worked solutions (for instructors)\n"]
    for stem in chosen:
        registered = [exercise for exercise in EXERCISES if exercise.notebook == stem]
        if notebook is None and not registered:
            continue
        parts.append(f"## {stem[:2]} · {titles[stem]}\n")
        if not registered:
            parts.append("This notebook has no exercises.\n")
        for exercise in registered:
            parts.append(solution_markdown(exercise) +
                         f"\n*In the notebook:* `show_solution({stem!r}, {exercise.key!r})`\n")
    return "\n".join(parts)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bn_course.exercises",
                                     description="Exercise tools for instructors.")
    commands = parser.add_subparsers(dest="command", required=True)
    show = commands.add_parser("solutions", help="print the worked solutions as Markdown")
    show.add_argument("notebook", nargs="?", help="one notebook, e.g. 02_numpy_formula or 02 (default: all)")
    args = parser.parse_args(argv)
    try:
        text = solutions(args.notebook)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
