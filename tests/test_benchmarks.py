"""The performance report's code paths, with tiny repeats: rows are well formed and the table renders.

Nothing here asserts on time (see benchmarks/); the slow sections (notebooks, startup)
are left to `make bench`, except the notebook section's memory reading, run on a tiny notebook.
"""

import math
import os
import sys

import pytest

from benchmarks import __main__ as report
from benchmarks import folding, layer, notebooks, numpy_backward, sliders
from benchmarks.timing import Row, percentile


def _check(rows, section):
    assert rows, f"section {section!r} returned no rows"
    for row in rows:
        assert isinstance(row, Row)
        assert row.section.startswith(section)
        assert row.item and row.figure
        assert row.ratio is None or (math.isfinite(row.ratio) and row.ratio > 0)
        assert row.met in (None, True, False)
    text = report.table(rows)
    assert text.count("\n") == len(rows) + 1
    return rows


def test_percentile_matches_linear_interpolation():
    assert percentile([3, 1, 2, 4], 50) == 2.5
    assert percentile(list(range(101)), 95) == 95
    assert percentile([7.0], 95) == 7.0


def test_move_values_cover_the_range_and_always_change_the_value():
    import ipywidgets as widgets

    for control in (widgets.FloatSlider(value=0.5, min=0.0, max=2.0, step=0.01),
                    widgets.IntSlider(value=3, min=1, max=20),
                    widgets.SelectionSlider(options=[("1", 1), ("2", 2), ("4", 4)], value=1),
                    widgets.Checkbox(value=False)):
        values = sliders.move_values(control, 50)
        assert len(values) == 50
        assert values[0] != control.value
        assert all(a != b for a, b in zip(values, values[1:]))
        if hasattr(control, "min"):
            assert min(values) == control.min and max(values) == control.max


def test_every_explorer_is_found_and_measured():
    found = sliders.discover()
    labels = [label for label, _ in found]
    for name in ("explore.formula", "explore.momentum", "explore.batch_size", "explore.depth"):
        assert any(label.startswith(name + ".") for label in labels), labels
    rows = _check(sliders.run(1, moves=2), "2 sliders")
    assert not any(row.figure == "not measured" for row in rows), [r.baseline for r in rows]
    assert any(row.met is not None for row in rows)  # the sliders carry the 50 ms target


def test_numpy_section_has_both_backward_passes():
    rows = _check(numpy_backward.run(1), "3 numpy")
    assert len(rows) == 3  # closed form, graph form, graph / closed


def test_layer_section_compares_training_and_inference():
    rows = _check(layer.run(1, shape=(4, 4, 4, 8), calls=1), "4 layer")
    assert len(rows) == 2 and all(row.met is not None for row in rows)


def test_folding_section_covers_dense_and_conv():
    rows = _check(folding.run(1, calls=1), "5 folding")
    assert [("Dense" in r.item, "Conv2D" in r.item) for r in rows] == [(True, False), (False, True)]


def test_main_prints_the_table(capsys):
    report.main(["--only", "numpy", "sliders", "--skip", "sliders", "--repeats", "1"])
    out = capsys.readouterr().out
    assert "| section | measurement |" in out and "3 numpy backward" in out
    assert "2 sliders" not in out and "load average" in out


def test_sections_are_registered_in_the_issues_order():
    assert list(report.SECTIONS) == ["notebooks", "sliders", "numpy", "layer", "folding", "startup"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="peak memory is read from /proc (Linux)")
def test_notebook_rows_include_the_kernels_peak_memory(tmp_path, monkeypatch):
    """The peak is read from outside the kernel and sees memory the notebook allocates."""
    import nbformat

    assert notebooks.peak_memory(os.getpid()) > 10e6
    monkeypatch.setenv("BN_COURSE_PROGRESS", str(tmp_path / "progress.json"))
    cells = [nbformat.v4.new_code_cell("import numpy as np"),
             nbformat.v4.new_code_cell("block = np.ones(200_000_000 // 8)  # 200 MB")]
    nbformat.write(nbformat.v4.new_notebook(cells=cells), tmp_path / "01_tiny.ipynb")
    rows = _check(notebooks.run(1, tmp_path), "1 notebooks")
    assert [row.item for row in rows] == ["01_tiny", "all notebooks", "01_tiny: kernel peak memory",
                                          "largest kernel peak memory (size a server by this)"]
    peak, floor = rows[2].figure, rows[2].baseline
    assert peak.endswith(" GB") and floor.startswith("kernel + imports ") and floor.endswith(" GB")
    assert float(peak.split()[0]) - float(floor.split()[-2]) > 0.15  # the 200 MB array, measured from outside
    assert rows[3].figure == peak


@pytest.mark.parametrize("bad", [["--repeats", "0"], ["--only", "nonsense"]])
def test_bad_arguments_are_refused(bad):
    with pytest.raises(SystemExit):
        report.main(bad)
