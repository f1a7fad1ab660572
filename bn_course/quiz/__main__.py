"""Command line for instructors: ``python -m bn_course.quiz export|report|summary`` (``--help`` for each).
Errors are one line on stderr, with exit code 2."""

import argparse
import sys

from bn_course import quiz
from bn_course.quiz.text import bank_markdown


def export(names, answers):
    """The Markdown of the given banks: a sheet, or the answer key with ``answers``."""
    kind, banks = "answer key" if answers else "quiz sheet", [quiz.load_bank(name) for name in names]
    if len(banks) == 1:
        return f"# {banks[0].title}: {kind}\n\n" + bank_markdown(banks[0], answers=answers, heading="")
    return "\n".join([f"# Batch normalization in TensorFlow: {kind}\n"] + [
        bank_markdown(bank, answers=answers, heading=f"## {bank.name[:2]} ·") for bank in banks])


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bn_course.quiz", description="Quiz tools for instructors.")
    commands = parser.add_subparsers(dest="command", required=True)
    sheet = commands.add_parser("export", help="print a Markdown quiz sheet or answer key")
    sheet.add_argument("bank", nargs="?", help="one bank, e.g. 02_numpy_formula (default: all)")
    sheet.add_argument("--answers", action="store_true", help="print the answer key instead of the sheet")
    hand_in = commands.add_parser("report", help="write a learner's results to a file to hand in")
    hand_in.add_argument("--name", help="the learner's name or initials (asked for if missing)")
    hand_in.add_argument("--out", help="the file to write (default: bn-course-report-<name>.json here)")
    hand_in.add_argument("--progress", help=f"the progress file to read (default: ${quiz.store.ENV_VAR} or yours)")
    summary = commands.add_parser("summary", help="print the class summary of many reports")
    summary.add_argument("reports", nargs="+", metavar="REPORT", help="report files (others are skipped)")
    summary.add_argument("--csv", action="store_true", help="print the question table as CSV")
    args = parser.parse_args(argv)
    try:
        if args.command == "export":
            text = export([args.bank] if args.bank else quiz.bank_names(), args.answers)
        elif args.command == "report":
            written = quiz.report(args.name, args.out, args.progress)
            text = written.markdown() + f"\nWrote {written.path}\n"
        else:
            found, skipped = quiz.reports.read_reports(args.reports)
            for path, reason in skipped:
                print(f"skipped {path}: {reason}", file=sys.stderr)
            if not found:
                raise quiz.QuizError("none of the files is a quiz report")
            text = quiz.reports.summary_csv(found) if args.csv else quiz.reports.summary_markdown(found, skipped)
    except (quiz.QuizError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
