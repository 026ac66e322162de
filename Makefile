# paraseek: the two commands a fresh machine needs are `make demo` and `make test`.
VENV := .venv
PY := $(VENV)/bin/python
export OMP_WAIT_POLICY ?= PASSIVE

.PHONY: setup test demo lint bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml scripts/setup.sh
	bash scripts/setup.sh
	touch $@

## Run the whole test suite (installs what it needs first).
test: setup
	$(PY) -m pytest -q

## Synthesise a small styled-speech corpus, index it, serve it and query it through the client.
demo: setup
	$(VENV)/bin/python scripts/demo.py

## Static checks: ruff, mypy, the import-layering contracts and the Dockerfile lint.
lint: setup
	bash scripts/lint.sh

bench: setup
	$(PY) benchmarks/embed_speed.py
	$(PY) benchmarks/search_latency.py --points 100000 --json

clean:
	rm -rf $(VENV) demo-data .pytest_cache
