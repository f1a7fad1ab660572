"""Section 2: every slider explorer's update latency (compute + redraw), p50 and p95.

Explorers are found generically: every ``bn_course.explore`` module's subclass of
:class:`bn_course.explore.widgets.Explorer`, built with its defaults, or as its notebook builds it
when the constructor needs data (:data:`FACTORIES`). Each control in ``explorer.sliders``
is moved through values spread across its whole range (a slider swept end to end and
back, a selection cycled, a checkbox toggled); setting ``.value`` runs the explorer's
observer, so the timed call is exactly what a learner's move costs in the kernel.
"""

import importlib
import inspect
import pkgutil

import numpy as np

from benchmarks.timing import Row, format_seconds, percentile

TARGET_SECONDS = 0.050
MIN_MOVES = 50


def _depth_explorer(module):
    """As notebook 01 builds it: its probe batch, the first 256 training digits standardized per pixel with the
    training set's statistics (float64 here, float32 in the notebook: the same work per slider move)."""
    from bn_course.data import load_digits, standardize

    digits = load_digits()
    x_probe = standardize(digits.x_train_flat[:256], reference=digits.x_train_flat)
    return module.DepthExplorer(x_probe, digits.y_train[:256], max_depth=20, depth=8, init_scale=1.0,
                                activation="tanh")


#: Explorers whose constructor needs data: module name -> function(module) -> explorer.
FACTORIES = {"bn_course.explore.depth": _depth_explorer}


def discover():
    """``[(label, factory)]`` for every Explorer subclass in a ``bn_course.explore`` module."""
    import bn_course.explore
    from bn_course.explore.widgets import Explorer

    found = []
    for info in sorted(pkgutil.iter_modules(bn_course.explore.__path__), key=lambda i: i.name):
        if info.name == "widgets":
            continue
        name = f"bn_course.explore.{info.name}"
        try:
            module = importlib.import_module(name)
        except Exception as error:  # a module being written right now: report it, measure the rest
            found.append((f"explore.{info.name}", _failing(error)))
            continue
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, Explorer) and cls is not Explorer and cls.__module__ == name:
                factory = (lambda m=module: FACTORIES[m.__name__](m)) if name in FACTORIES else cls
                found.append((f"explore.{info.name}.{cls.__name__}", factory))
    return found


def _failing(error):
    def factory():
        raise error
    return factory


def move_values(control, moves):
    """``moves`` values for ``control`` spread across its range, no two consecutive ones equal."""
    if hasattr(control, "options"):  # SelectionSlider, ToggleButtons, Dropdown: every option
        options = [o[1] if isinstance(o, tuple) else o for o in control.options]
        sweep = options + options[-2:0:-1]  # there and back: 1, 2, 4, ..., 256, ..., 2
    elif isinstance(control.value, bool):  # Checkbox
        sweep = [not control.value, control.value]
    else:  # IntSlider / FloatSlider: the whole range, end to end and back
        low, high, step = control.min, control.max, control.step
        count = int(round((high - low) / step)) + 1
        points = min(count, moves // 2 + 1)
        grid = np.unique(np.round(np.linspace(0, count - 1, points)).astype(int))
        values = [low + i * step for i in grid]
        values = [int(v) for v in values] if isinstance(control.value, int) else \
            [float(min(max(round(v, 10), low), high)) for v in values]
        sweep = values + values[-2:0:-1]
    if len(sweep) < 2:
        return []
    # Start where the sweep differs from the current value: every move then changes something
    # (consecutive sweep values differ, the wrap-around included).
    start = next(i for i, v in enumerate(sweep) if v != control.value) if control.value in sweep else 0
    return [sweep[(start + k) % len(sweep)] for k in range(moves)]


def is_slider(control):
    """Sliders get the 50 ms target; switches (toggle buttons, checkboxes) are reported alongside."""
    return "Slider" in type(control).__name__


def measure(explorer, moves=MIN_MOVES):
    """``{control name: ([wall seconds per move], [CPU seconds per move])}``, after one untimed redraw.

    The untimed redraw is what displaying the explorer does (its static background is drawn
    there). CPU time (this process's, all threads) is kept too: on a loaded machine the wall
    time includes waiting for a core, the CPU time does not.
    """
    import time

    explorer.redraw()  # what displaying it does: the static background is drawn here, not timed
    timings = {}
    for name, control in explorer.sliders.items():
        initial = control.value
        wall, cpu = [], []
        for value in move_values(control, moves):
            start, start_cpu = time.perf_counter(), time.process_time()
            control.value = value  # observe() -> explorer.redraw(), synchronously
            wall.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
        control.value = initial
        timings[name] = wall, cpu
    return timings


def run(repeats, moves=None, explorers=None):
    moves = moves or max(MIN_MOVES, 10 * repeats)
    rows = []
    for label, factory in explorers or discover():
        try:
            explorer = factory()
        except Exception as error:
            rows.append(Row("2 sliders", label, "not measured", f"could not build: {type(error).__name__}: {error}"))
            continue
        for name, (durations, cpu) in measure(explorer, moves).items():
            p50, p95 = percentile(durations, 50), percentile(durations, 95)
            slider = is_slider(explorer.sliders[name])
            kind = "" if slider else f" {type(explorer.sliders[name]).__name__} switch,"
            rows.append(Row("2 sliders", f"{label} `{name}` ({kind} {len(durations)} moves)".replace("( ", "("),
                            f"p50 {format_seconds(p50)}",
                            f"p95 {format_seconds(p95)} (CPU time p50 {format_seconds(percentile(cpu, 50))}, "
                            f"p95 {format_seconds(percentile(cpu, 95))})", None,
                            "p95 ≤ 50 ms" if slider else "(a switch: no target)",
                            p95 <= TARGET_SECONDS if slider else None))
    return rows
