# Two commands on a fresh machine: `make demo` (install, build the index, answer a question offline)
# and `make test` (install with test tools, run the suite; `make quick` leaves out the slow tests).
# Both create .venv when it is missing.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# torch's CPU build first: a bare `torch` requirement would pull a multi-GB CUDA build.
# Elsewhere, add PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu if this version is not local.
TORCH_SPEC ?= torch==2.13.0
# every dependency pinned to the versions tested: generated from pyproject.toml by pip-tools (`make lock`)
LOCK := constraints.txt
QUESTION ?= 温州的城市书房有多少家？

.PHONY: install demo index lint test quick eval bench clean lock

$(VENV)/.installed: pyproject.toml $(LOCK)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH_SPEC)"
	$(PY) -m pip install --quiet -c $(LOCK) -e ".[dev]"
	touch $@

install: $(VENV)/.installed

index: install
	$(PY) -m bot build

demo: index
	$(PY) -m bot ask "$(QUESTION)"

# ruff (style, imports, likely bugs) and mypy (the type hints), configured in pyproject.toml
lint: install
	$(PY) -m ruff check bot devtools tests
	$(PY) -m mypy bot devtools

test: lint
	$(PY) -m pytest -q

# everything but the tests marked slow (subprocesses, soak, fault matrix, property runs): under a minute
quick: install
	$(PY) -m pytest -q -m "not slow"

eval: index
	$(PY) -m bot eval tests/fixtures/dev.yaml

bench: index
	$(PY) -m devtools bench

# Regenerate the lock after changing dependencies in pyproject.toml: existing pins are kept where they
# still fit; `make lock UPGRADE=1` moves everything to the newest releases (torch stays at TORCH_SPEC).
lock: install
	$(PY) -m pip install --quiet pip-tools
	echo "$(TORCH_SPEC)" > $(VENV)/torch-pin.txt
	$(PY) -m piptools compile --quiet --extra dev --strip-extras --no-emit-index-url --no-emit-find-links \
		--constraint $(VENV)/torch-pin.txt $(if $(UPGRADE),--upgrade) --output-file $(LOCK) pyproject.toml

clean:
	rm -rf $(VENV) index/builds index/CURRENT
