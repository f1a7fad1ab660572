"""Section 3: the NumPy backward passes against each other and against the memory floor."""

import numpy as np

from benchmarks.timing import Row, format_seconds, interleaved, median
from bn_course import numpy_bn

SHAPE = (256, 16, 16, 32)  # an activation map of realistic size: 2M floats, 16 MB in float64


def run(repeats):
    rng = np.random.default_rng(0)
    x = rng.normal(size=SHAPE)
    dy = rng.normal(size=SHAPE)
    gamma, beta = np.ones(SHAPE[-1]), np.zeros(SHAPE[-1])
    _, cache = numpy_bn.batch_norm_forward(x, gamma, beta)
    out = np.empty_like(x)
    calls = [lambda: np.add(x, dy, out=out),  # reading x and dy once and writing once: the least a backward does
             lambda: numpy_bn.batch_norm_backward(dy, cache)]
    graph_backward = _graph_backward()
    if graph_backward is not None:
        staged_forward, staged_backward = graph_backward
        _, staged_cache = staged_forward(x, gamma, beta)
        calls.append(lambda: staged_backward(dy, staged_cache))
    # In turns (floor, closed, graph, floor, ...) so that load from other processes hits all three.
    floor, closed, *graph = [median(d) for d in interleaved(calls, repeats)]
    rows = [Row("3 numpy backward", f"closed form, {SHAPE}", format_seconds(closed),
                f"memory floor {format_seconds(floor)}", closed / floor)]
    if graph:
        graph = graph[0]
        rows += [
            Row("3 numpy backward", "computation-graph (staged) form", format_seconds(graph),
                f"memory floor {format_seconds(floor)}", graph / floor),
            Row("3 numpy backward", "graph / closed form", f"{graph / closed:.2f}×",
                f"closed form {format_seconds(closed)}", graph / closed),
        ]
    return rows


def _graph_backward():
    """The staged forward/backward pair that notebook 02 derives (``bn_course.backward_graph``)."""
    try:
        from bn_course.backward_graph import batch_norm_backward_graph, batch_norm_forward_graph
    except ImportError:  # an older checkout without the module: the row is left out
        return None
    return batch_norm_forward_graph, batch_norm_backward_graph
