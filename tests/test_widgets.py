"""bn_course.explore.widgets: sliders carry their CSS classes; the blitted picture equals a full draw."""

import io

import numpy as np
from PIL import Image

from bn_course.explore.widgets import Explorer, new_figure, slider


class _LineExplorer(Explorer):
    def __init__(self):
        figure, ax = new_figure()
        self.xs = np.linspace(0, 1, 50)
        (self.line,) = ax.plot(self.xs, self.xs)
        ax.set(ylim=(-3, 3), title="a line")
        super().__init__({"slope": slider("slope", "slope", -2.0, 2.0, 0.1, 1.0)}, figure, dynamic=[self.line])

    def draw(self, slope):
        self.line.set_ydata(slope * self.xs)
        self.last = slope
        return f"slope {slope:.1f}"


def test_slider_classes_and_redraw_on_change():
    explorer = _LineExplorer()
    assert {"bn-slider", "bn-slider-slope"} <= set(explorer.sliders["slope"]._dom_classes)
    explorer.redraw()
    first = explorer.live.image.value
    explorer.sliders["slope"].value = -1.5
    assert explorer.last == -1.5 and explorer.readout.value == "slope -1.5"
    assert explorer.live.image.value != first and explorer.live.image.value[:4] == b"\x89PNG"
    shown = np.asarray(Image.open(io.BytesIO(explorer.live.image.value)))  # lossless: the canvas's pixels
    assert np.array_equal(shown, np.asarray(explorer.live.figure.canvas.buffer_rgba())[..., :3])


def test_blit_matches_a_full_draw_and_invalidate_redraws_the_background():
    explorer = _LineExplorer()
    explorer.redraw()
    explorer.sliders["slope"].value = 2.0
    explorer.live.figure.axes[0].set_title("a new title")
    explorer.live.invalidate()
    explorer.redraw()
    fast = np.asarray(explorer.live.figure.canvas.buffer_rgba()).copy()
    explorer.line.set_animated(False)
    explorer.live.figure.canvas.draw()
    assert np.array_equal(fast, np.asarray(explorer.live.figure.canvas.buffer_rgba()))


def test_any_control_gets_the_course_style_and_css_classes():
    import ipywidgets as widgets

    from bn_course.explore.widgets import control

    box = control(widgets.Checkbox, "checkbox", "bn", value=True, description="batch normalization")
    assert {"bn-checkbox", "bn-checkbox-bn"} <= set(box._dom_classes)
    assert box.layout.width == "440px" and box.style.description_width == "150px"
    assert control(widgets.Button, "button", "reset", width="160px", description="Reset").layout.width == "160px"


def test_new_figure_takes_a_layout_engine_and_subplot_options():
    figure, axes = new_figure(ncols=2, layout="none", width_ratios=[2, 1])
    assert figure.get_layout_engine() is None and axes.shape == (2,)
    assert axes[0].get_position().width > 1.5 * axes[1].get_position().width


def test_buttons_sit_above_the_figure_and_set_values_redraws_once():
    import ipywidgets as widgets

    from bn_course.explore.widgets import control

    class Counting(Explorer):
        def __init__(self):
            self.draws = 0
            figure, ax = new_figure()
            (self.line,) = ax.plot([0, 1], [0, 1])
            sliders = {name: slider(name, name, -2.0, 2.0, 0.1, 1.0) for name in ("a", "b")}
            button = control(widgets.Button, "button", "reset", description="Reset")
            super().__init__(sliders, figure, dynamic=[self.line], buttons=[button])

        def draw(self, a, b):
            self.draws += 1
            self.last = (a, b)
            return ""

    explorer = Counting()
    children = explorer.widget.children
    assert isinstance(children[2], widgets.HBox) and children[3] is explorer.live.image
    explorer.set_values(a=-1.0, b=0.5)
    assert explorer.draws == 1 and explorer.last == (-1.0, 0.5)
