"""The explorers: one module per slider UI (``depth`` in 01, ``formula`` in 02, ``momentum`` in 05,
``batch_size`` in 06), each a pure compute function plus an :class:`~bn_course.explore.widgets.Explorer`
built on the shared widget layer in ``widgets``."""
