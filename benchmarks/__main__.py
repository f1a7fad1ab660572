"""`python -m benchmarks [--repeats N] [--only SECTION ...] [--skip SECTION ...] [--update-readme]`: print the report."""

import argparse
import os
import platform
import re
from pathlib import Path

from benchmarks import folding, layer, notebooks, numpy_backward, sliders, startup

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = ROOT / "notebooks"
# In the order. "notebooks" is by far the slowest (every notebook, several times, in a
# fresh kernel): leave it out with `--skip notebooks` or pick sections with `--only`.
SECTIONS = {
    "notebooks": lambda r: notebooks.run(r, NOTEBOOK_DIR),
    "sliders": sliders.run,
    "numpy": numpy_backward.run,
    "layer": layer.run,
    "folding": folding.run,
    "startup": lambda r: startup.run(r, NOTEBOOK_DIR),
}
BEGIN, END = "<!-- benchmarks:begin -->", "<!-- benchmarks:end -->"


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


def load():
    """The 1-minute load average (other processes competing for the CPU inflate every figure)."""
    try:
        return f"{os.getloadavg()[0]:.1f}"
    except OSError:  # not available on this platform
        return "unknown"


def table(rows):
    lines = ["| section | measurement | median | compared with | ratio | target |",
             "|---|---|---|---|---|---|"]
    for row in rows:
        ratio = f"{row.ratio:.2f}" if row.ratio is not None else ""
        target = row.target + ("" if row.met is None else (" ✅" if row.met else " ❌"))
        lines.append(f"| {row.section} | {row.item} | {row.figure} | {row.baseline} | {ratio} | {target} |")
    return "\n".join(lines)


def update_readme(report):
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    if BEGIN not in text or END not in text:
        raise SystemExit(f"README.md has no {BEGIN} ... {END} block to update")
    block = f"{BEGIN}\n{report}\n{END}"
    readme.write_text(re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: block, text, flags=re.S),
                      encoding="utf-8")


def main(argv=None):
    parser = argparse.ArgumentParser(description="The course's performance report.")
    parser.add_argument("--repeats", type=int, default=5, help="runs per figure (notebooks use min(3, N))")
    parser.add_argument("--only", nargs="+", choices=sorted(SECTIONS), help="run only these sections")
    parser.add_argument("--skip", nargs="+", choices=sorted(SECTIONS), default=[],
                        help="leave these sections out (e.g. --skip notebooks)")
    parser.add_argument("--update-readme", action="store_true", help="write the table into README.md")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    rows = []
    names = [name for name in (args.only or SECTIONS) if name not in args.skip]
    load_before = load()
    for name in names:
        repeats = min(3, args.repeats) if name == "notebooks" else args.repeats
        print(f"measuring {name} ({repeats} runs each)...", flush=True)
        rows += SECTIONS[name](repeats)
    report = (f"Measured on: {machine()}; load average {load_before} at the start, {load()} at the end "
              f"(sections: {', '.join(names)})\n\n{table(rows)}")
    print()
    print(report)
    if args.update_readme:
        update_readme(report)
        print("\nREADME.md updated.")


if __name__ == "__main__":
    main()
