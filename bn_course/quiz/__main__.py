"""Command line: ``python -m bn_course.quiz export [bank] [--answers]``.

Prints a Markdown quiz sheet for one bank or all of them, or with ``--answers``
the answer key (each option marked, why the wrong ones are wrong, explanations).
Redirect it to a file and print it or convert it (e.g. with pandoc) for class.
An unknown bank is reported on stderr with exit code 2.
"""

import argparse
import sys

from bn_course.quiz.bank import QuizError, bank_names, load_bank
from bn_course.quiz.text import bank_markdown


def export(names, answers):
    """The Markdown of the given banks: a sheet, or the answer key with ``answers``."""
    kind = "answer key" if answers else "quiz sheet"
    banks = [load_bank(name) for name in names]
    if len(banks) == 1:
        return f"# {banks[0].title}: {kind}\n\n" + bank_markdown(banks[0], answers=answers, heading="")
    parts = [f"# Batch normalization in TensorFlow: {kind}\n"]
    parts += [bank_markdown(bank, answers=answers, heading=f"## {bank.name[:2]} ·") for bank in banks]
    return "\n".join(parts)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bn_course.quiz", description="Quiz tools for instructors.")
    commands = parser.add_subparsers(dest="command", required=True)
    sheet = commands.add_parser("export", help="print a Markdown quiz sheet or answer key")
    sheet.add_argument("bank", nargs="?", help="one bank, e.g. 02_numpy_formula (default: all)")
    sheet.add_argument("--answers", action="store_true", help="print the answer key instead of the sheet")
    args = parser.parse_args(argv)
    try:
        text = export([args.bank] if args.bank else bank_names(), args.answers)
    except QuizError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
