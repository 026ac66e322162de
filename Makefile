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

## Run every benchmark at the sizes the README quotes; their JSON lines go to $(BENCH_RESULTS).
## SEARCH_POINTS sets the vector-search benchmark's size (default a million points, about half an hour on
## 2 cores; 100000 for a quick run; empty: leave it out).
BENCH_RESULTS ?= benchmarks/results.jsonl
SEARCH_POINTS ?= 1000000
RECORD = $(PY) benchmarks/record.py $(BENCH_RESULTS)
bench: setup
	rm -f $(BENCH_RESULTS)
	$(RECORD) index_throughput -- $(PY) benchmarks/index_throughput.py --model paraspeechclap-combined --clips 16 --max-seconds 8 --json
	$(RECORD) index_throughput -- $(PY) benchmarks/index_throughput.py --model paraseek-mini --clips 200 --json
	$(RECORD) index_throughput -- $(PY) benchmarks/index_throughput.py --clips 200 --json
	$(RECORD) query_latency -- $(PY) benchmarks/query_latency.py --points 20000 --json
	$(RECORD) store_concurrency -- $(PY) benchmarks/store_concurrency.py --points 20000 --json
	$(RECORD) embed_speed -- $(PY) benchmarks/embed_speed.py --model paraspeechclap-combined --seconds 60 --threads 2 --json
	$(RECORD) acoustics_cost -- env OMP_NUM_THREADS=1 $(PY) benchmarks/acoustics_cost.py --clips 8 --seconds 6 --json
	$(RECORD) measured_bins -- $(PY) benchmarks/measured_bins.py --clips 400 --json
	$(if $(SEARCH_POINTS),$(RECORD) search_latency -- $(PY) benchmarks/search_latency.py --points $(SEARCH_POINTS) --json)

clean:
	rm -rf $(VENV) demo-data .pytest_cache
