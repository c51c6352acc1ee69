# Every target sets itself up: a fresh machine needs only python3 (3.11+) and make.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export NUMBA_CACHE_DIR ?= $(CURDIR)/.cache/numba

.PHONY: demo test bench bench-stages clean setup browser

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

## Run the main job on the bundled sample company and print the result.
demo: $(STAMP)
	$(BIN)/icm demo fixtures/sample --rules rules/sample.yaml --out out/sample

## Debian's chromium renders HTML statements in the browser tests. Installed when missing and
## possible (root with apt-get); otherwise those tests are skipped and say why.
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
	  && (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	  || echo "chromium not installed: browser tests will be skipped"; }

## The whole test suite: lint, types, tests (what CI runs).
test: $(STAMP) browser
	$(BIN)/ruff check engine tests benchmarks
	$(BIN)/ruff format --check engine tests benchmarks
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -p no:cacheprovider engine tests
	$(MAKE) --no-print-directory bench-stages

## The pipeline stage by stage at scale S (1M transactions), one round each: about 1-2 minutes
## on 2 cores. Figures go to .benchmarks/stages-S.json (gitignored; benchmarks/stages_table.py
## prints them as the table of benchmarks/results/stages-S.md).
bench-stages: $(STAMP)
	mkdir -p .benchmarks
	$(BIN)/python -m pytest -q -p no:cacheprovider benchmarks/bench_stages.py --benchmark-only \
	  --benchmark-json=.benchmarks/stages-S.json
	$(BIN)/python benchmarks/stages_table.py .benchmarks/stages-S.json

## Every benchmark suite (kernels at 10M rows, stages at S).
bench: $(STAMP)
	$(BIN)/python -m pytest benchmarks --benchmark-only -q -p no:cacheprovider

clean:
	rm -rf $(VENV) .cache out .pytest_cache .mypy_cache .ruff_cache .benchmarks
