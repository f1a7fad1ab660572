"""``python -m bn_course.exercises solutions [notebook]``: every registered solution as Markdown, for the course
or one notebook (``02_numpy_formula`` or ``02``); an unknown notebook is one line on stderr, exit code 2."""

import argparse
import sys

from bn_course.exercises import EXERCISES, solution_markdown
from bn_course.navigation import NOTEBOOKS


def solutions(notebook=None):
    """The Markdown of every registered solution, or of one notebook's (ValueError for an unknown one)."""
    titles = dict(NOTEBOOKS)
    chosen = [stem for stem in titles if notebook in (None, stem, stem[:2])]
    if not chosen:
        raise ValueError(f"no notebook {notebook!r}; notebooks are: {', '.join(titles)}")
    parts = ["# Worked solutions (for instructors)\n"]
    for stem in chosen:
        registered = [exercise for exercise in EXERCISES if exercise.notebook == stem]
        if registered or notebook:
            parts.append(f"## {stem[:2]} · {titles[stem]}\n")
        if notebook and not registered:
            parts.append("This notebook has no exercises.\n")
        parts += [solution_markdown(exercise) + f"\n*In the notebook:* `show_solution({stem!r}, {exercise.key!r})`\n"
                  for exercise in registered]
    return "\n".join(parts)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bn_course.exercises", description="Exercise tools.")
    parser.add_argument("command", choices=["solutions"], help="print the worked solutions as Markdown")
    parser.add_argument("notebook", nargs="?", help="one notebook, e.g. 02_numpy_formula or 02 (default: all)")
    try:
        sys.stdout.write(solutions(parser.parse_args(argv).notebook))
    except ValueError as error:  # an unknown notebook
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
