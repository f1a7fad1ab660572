"""The thin ipywidgets layer shared by every slider explorer (introduced in notebook 00, used in 01, 02, 05, 06).

An explorer is a pure compute function (tested on its own) plus an :class:`Explorer` subclass that draws its
result into a figure built once and shown as a PNG in an ``ipywidgets.Image`` (no pyplot). CSS classes, for
browser tests and custom styles: ``bn-explorer`` (the box), ``bn-<kind>`` and ``bn-<kind>-<name>`` on each
control (see :func:`control`), ``bn-figure``, ``bn-readout``.
"""

import io
import zlib

import ipywidgets as widgets
import numpy as np
from IPython.display import display
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

__all__ = ["control", "slider", "new_figure", "LiveFigure", "Explorer"]


def control(widget_class, kind, name, width="440px", **options):
    """``widget_class(**options)`` with the course's width and label width and the CSS classes
    ``bn-<kind>`` and ``bn-<kind>-<name>`` that browser tests look for."""
    options.setdefault("layout", {"width": width})
    widget = widget_class(**options)
    if "style" not in options and widget.style.has_trait("description_width"):
        widget.style.description_width = "150px"
    widget.add_class(f"bn-{kind}")
    widget.add_class(f"bn-{kind}-{name}")
    return widget


def slider(name, description, min, max, step, value, readout_format=".2f", integer=False):
    """A slider (CSS classes ``bn-slider``, ``bn-slider-<name>``) redrawing on every move (hence the 50 ms target)."""
    kind = widgets.IntSlider if integer else widgets.FloatSlider
    options = {} if integer else {"readout_format": readout_format}
    return control(kind, "slider", name, value=value, min=min, max=max, step=step, description=description,
                   continuous_update=True, **options)


def new_figure(ncols=1, nrows=1, figsize=(7.5, 3.2), layout="constrained", **subplots):
    """A pyplot-free figure and its axes (an array when more than one; ``subplots``: ``Figure.subplots``'s options);
    ``layout``: matplotlib's layout engine, "constrained", "tight" or "none"."""
    figure = Figure(figsize=figsize, dpi=80, layout=layout)
    FigureCanvasAgg(figure)
    return figure, figure.subplots(nrows, ncols, **subplots)


class LiveFigure:
    """A figure shown as an ``ipywidgets.Image``. Only the ``dynamic`` artists (those a slider moves) are
    redrawn, blitted onto a background drawn once: a few ms instead of ~70 ms for a full draw.
    Call :meth:`invalidate` after changing anything static (labels, limits)."""

    def __init__(self, figure, dynamic=()):
        self.figure = figure
        self.dynamic = list(dynamic)
        for artist in self.dynamic:
            artist.set_animated(True)  # left out of the background draw
        self._background = None
        # At its own pixel size (stretched it blurs and pushes the readout off a 1280x800 screen).
        self.image = widgets.Image(format="png", layout=widgets.Layout(align_self="flex-start", max_width="100%"))
        self.image.add_class("bn-figure")

    def invalidate(self):
        """Redraw the static background (and redo the layout) at the next refresh."""
        if self._background is not None:
            self.figure.set_layout_engine("constrained")
        self._background = None

    def refresh(self):
        canvas = self.figure.canvas
        if self._background is None:
            canvas.draw()  # animated artists are skipped: this is the static background
            if self.dynamic:
                self.figure.set_layout_engine("none")  # keep the layout found by this draw
                self._background = canvas.copy_from_bbox(self.figure.bbox)
        else:
            canvas.restore_region(self._background)
        for artist in self.dynamic:
            artist.axes.draw_artist(artist)
        buffer = io.BytesIO()  # opaque RGB with run-length zlib: about half the time of PIL's default PNG
        image = Image.fromarray(np.asarray(canvas.buffer_rgba())).convert("RGB")
        image.save(buffer, format="png", compress_level=1, compress_type=zlib.Z_RLE)
        self.image.value = buffer.getvalue()


class Explorer:
    """Controls (a dict name -> widget), optional ``buttons`` in a row, a live figure and a readout, redrawn
    whenever a control moves. Subclasses implement ``draw(**control values)``: it updates the figure's
    artists, may store numbers in ``self.last`` (for tests) and returns the readout HTML."""

    def __init__(self, sliders, figure, title="", dynamic=(), buttons=()):
        self.sliders = dict(sliders)
        self.live = LiveFigure(figure, dynamic)
        self.readout = widgets.HTML()
        self.readout.add_class("bn-readout")
        header = [widgets.HTML(f"<b>{title}</b>")] if title else []
        row = [widgets.HBox(list(buttons))] if buttons else []
        self.widget = widgets.VBox([*header, *self.sliders.values(), *row, self.live.image, self.readout])
        self.widget.add_class("bn-explorer")
        for widget in self.sliders.values():
            widget.observe(self._on_change, names="value")
        self._holding = False
        self.last = None

    def values(self):
        return {name: widget.value for name, widget in self.sliders.items()}

    def set_values(self, **values):
        """Move several controls at once, redrawing once."""
        self._holding = True
        try:
            for name, value in values.items():
                self.sliders[name].value = value
        finally:
            self._holding = False
        self.redraw()

    def redraw(self):
        readout = self.draw(**self.values())
        self.live.refresh()
        self.readout.value = readout

    def _on_change(self, _change):
        if not self._holding:
            self.redraw()

    def _ipython_display_(self):
        self.redraw()
        display(self.widget)
