"""Session-wide test settings: quiet TensorFlow, and quiz progress kept out of the home folder."""

import os
import tempfile

# Kernels started by nbval inherit this environment, so set it before any test runs.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ["BN_COURSE_PROGRESS"] = os.path.join(tempfile.mkdtemp(prefix="bn-course-tests-"), "progress.json")
# Notebook kernels must use the inline backend whatever the developer's shell says.
os.environ.pop("MPLBACKEND", None)
