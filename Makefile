# The two commands of the README: `make demo` and `make test`. Both set up what they need.
VENV ?= .venv
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: setup demo test lint bench clean

setup:
	@bash scripts/setup.sh

demo: setup
	@bash scripts/demo.sh

test: setup
	$(VENV)/bin/ruff check cephflow tests bench
	$(VENV)/bin/lint-imports --no-cache
	$(VENV)/bin/python -m pytest -n 2 --dist loadgroup --durations=30

lint: setup
	$(VENV)/bin/ruff check cephflow tests bench
	$(VENV)/bin/lint-imports --no-cache

bench: setup
	$(VENV)/bin/python bench/compile_bench.py

clean:
	rm -rf $(VENV) .pytest_cache
