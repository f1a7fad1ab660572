# Two commands for learners: `make lab` and `make test`. Each creates .venv on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9][0-9]_*.ipynb))

.PHONY: lab test notebooks bench clean

$(INSTALLED): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("Python >= 3.10 is needed, found " + sys.version.split()[0]) if sys.version_info < (3, 10) else None'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $(INSTALLED)

## lab: start JupyterLab on the first notebook (token authentication stays on)
lab: $(INSTALLED)
	$(VENV)/bin/jupyter lab --ServerApp.root_dir="$(CURDIR)" $(if $(filter 0,$(shell id -u)),--allow-root) \
	  notebooks/00_start_here.ipynb

## test: unit, conformance, quiz, notebook (nbval), hygiene and browser tests
test: $(INSTALLED)
	$(PY) -m pytest

## notebooks: re-execute every notebook top to bottom in a fresh kernel and save its outputs
notebooks: $(INSTALLED)
	$(PY) -m tools.add_navigation
	for nb in $(NOTEBOOKS); do \
	  MPLBACKEND=module://matplotlib_inline.backend_inline BN_COURSE_PROGRESS=$$(mktemp -d)/progress.json \
	  $(VENV)/bin/jupyter nbconvert --to notebook --execute --inplace \
	    --ExecutePreprocessor.timeout=600 "$$nb" || exit 1; \
	done

## bench: the performance report (see README, "Performance")
bench: $(INSTALLED)
	$(PY) -m benchmarks

## clean: remove the virtual environment and caches (your quiz progress lives in your home folder and is kept)
clean:
	rm -rf $(VENV) .pytest_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
	find . -name .ipynb_checkpoints -type d -prune -exec rm -rf {} +
