# Mkopo: `make run` to try it, `make test` to check it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
export FLASK_APP := wsgi

.PHONY: run test install install-dev migrate seed lint bench clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/activate
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

migrate: install
	$(BIN)/flask db upgrade

seed: migrate
	$(BIN)/flask seed-demo

run: seed
	$(BIN)/flask run --host $(HOST) --port $(PORT)

# SQLite always; PostgreSQL too when TEST_DATABASE_URL is set (CI sets it).
test: lint
	MKOPO_TEST_DATABASE_URL= $(BIN)/pytest -q
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
		echo "== again on PostgreSQL =="; \
		MKOPO_TEST_DATABASE_URL="$$TEST_DATABASE_URL" $(BIN)/pytest -q -m "not browser"; \
	fi

# Figures at scale (SQLite; DATABASE_URL=postgresql+psycopg://... for PostgreSQL). Takes minutes.
# BENCH_ARGS scale the money figures, BENCH_COLLECTIONS_ARGS the collections ones (--help lists both).
bench: install-dev
	$(BIN)/python -m bench $(BENCH_ARGS)
	$(BIN)/python -m bench.collections $(BENCH_COLLECTIONS_ARGS)
	$(BIN)/python -m bench.statements

lint: install-dev
	$(BIN)/ruff check portal api tests bench wsgi.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
