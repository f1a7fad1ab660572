"""The thin ipywidgets layer shared by every slider explorer (introduced in notebook 02).

An explorer is a pure compute function (tested on its own) plus an
:class:`Explorer` subclass that draws its result. Redraws are fast because the
figure is built once, only its artists' data change, and it is rendered to a
PNG straight into an ``ipywidgets.Image`` (no pyplot, no Output widget churn).

CSS classes, for browser tests and instructors' custom styles:
    ``bn-explorer`` (the whole box), ``bn-<kind>`` and ``bn-<kind>-<name>`` on each control
    (kind ``slider``, ``select``, ``checkbox`` or ``button``; see :func:`control`),
    ``bn-figure`` (the picture), ``bn-readout`` (the numbers under it).
"""

import io

import ipywidgets as widgets
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = ["control", "slider", "new_figure", "png_bytes", "LiveFigure", "Explorer"]

_DESCRIPTION_WIDTH = "150px"


def control(widget_class, kind, name, width="440px", **options):
    """Any ipywidgets control (``widget_class(**options)``) with the course's width and label style
    and the CSS classes ``bn-<kind>`` and ``bn-<kind>-<name>`` that browser tests look for."""
    options.setdefault("layout", {"width": width})
    widget = widget_class(**options)
    if "style" not in options and widget.style.has_trait("description_width"):
        widget.style.description_width = _DESCRIPTION_WIDTH
    widget.add_class(f"bn-{kind}")
    widget.add_class(f"bn-{kind}-{name}")
    return widget


def slider(name, description, min, max, step, value, readout_format=".2f", integer=False):
    """A labelled slider carrying the CSS classes ``bn-slider`` and ``bn-slider-<name>``.

    ``continuous_update`` stays on: each move redraws, which is why explorers keep
    their update under 50 ms.
    """
    kind = widgets.IntSlider if integer else widgets.FloatSlider
    options = {} if integer else {"readout_format": readout_format}
    return control(kind, "slider", name, value=value, min=min, max=max, step=step, description=description,
                   continuous_update=True, **options)


def new_figure(ncols=1, nrows=1, figsize=(7.5, 3.2), layout="constrained", **subplot_kw):
    """A pyplot-free figure and its axes (an array when there is more than one).

    ``layout`` is matplotlib's layout engine ("constrained", "tight" or "none" to place axes by hand).
    """
    figure = Figure(figsize=figsize, dpi=80, layout=layout)
    FigureCanvasAgg(figure)
    axes = figure.subplots(nrows, ncols, squeeze=True, subplot_kw=subplot_kw or None)
    return figure, axes


def png_bytes(canvas):
    """The Agg canvas's current pixels as PNG bytes, with fast compression (latency matters)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.asarray(canvas.buffer_rgba())).save(buffer, format="png", compress_level=1)
    return buffer.getvalue()


class LiveFigure:
    """A matplotlib figure shown as an ``ipywidgets.Image`` and re-rendered on demand.

    With ``dynamic`` artists (those a slider changes), the rest of the figure is
    drawn once as a background and each refresh only blits the dynamic artists
    onto it: a full redraw of a multi-panel figure takes ~70 ms, a blit a few ms.
    Call :meth:`invalidate` after changing anything static (labels, limits).
    """

    def __init__(self, figure, dynamic=()):
        self.figure = figure
        self.dynamic = list(dynamic)
        for artist in self.dynamic:
            artist.set_animated(True)  # left out of the background draw
        self._background = None
        # Shown at its own pixel size: an Explorer box would stretch it to the column width
        # (blurred, and the readout pushed below a 1280x800 screen); shrinks in a narrower column.
        self.image = widgets.Image(format="png", layout=widgets.Layout(align_self="flex-start", max_width="100%"))
        self.image.add_class("bn-figure")

    def invalidate(self):
        """Redraw the static background (and redo the layout) at the next refresh."""
        if self._background is not None:
            self.figure.set_layout_engine("constrained")
        self._background = None

    def refresh(self):
        """Render the figure's current state into the image widget."""
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
        self.image.value = png_bytes(canvas)


class Explorer:
    """Sliders + a live figure + a numeric readout, redrawn whenever a slider moves.

    Subclasses build their figure in ``__init__``, pass their sliders (a dict
    name -> slider) and implement :meth:`draw`, which receives the slider values
    as keyword arguments, updates the figure's artists and returns the readout
    HTML. Tests set ``explorer.sliders[name].value`` and read ``explorer.last``
    (whatever ``draw`` stored there) or ``explorer.readout.value``.
    """

    def __init__(self, sliders, figure, title="", dynamic=()):
        self.sliders = dict(sliders)
        self.live = LiveFigure(figure, dynamic)
        self.readout = widgets.HTML()
        self.readout.add_class("bn-readout")
        children = []
        if title:
            children.append(widgets.HTML(f"<b>{title}</b>"))
        children += [*self.sliders.values(), self.live.image, self.readout]
        self.widget = widgets.VBox(children)
        self.widget.add_class("bn-explorer")
        for control in self.sliders.values():
            control.observe(self._on_change, names="value")
        self.last = None

    def values(self):
        return {name: control.value for name, control in self.sliders.items()}

    def draw(self, **values):
        raise NotImplementedError

    def redraw(self):
        readout = self.draw(**self.values())
        self.live.refresh()
        self.readout.value = readout

    def _on_change(self, _change):
        self.redraw()

    def _ipython_display_(self):
        from IPython.display import display

        self.redraw()
        display(self.widget)
