# sbcore: `make run` serves the API, `make test` runs the suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PLUGINS := $(wildcard plugins/*/setup.cfg)
PLUGIN_DIRS := $(patsubst %/setup.cfg,%,$(PLUGINS))
RUN_STAMP := $(VENV)/.sbcore-runtime
STAMP := $(VENV)/.sbcore-installed
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 2
PYTEST_ARGS ?=

.PHONY: install run test test-db bench docs clean

# make run: the runtime only (the core and every plugin); make test: with the test extras.
$(RUN_STAMP): setup.cfg pyproject.toml $(PLUGINS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e . $(foreach dir,$(PLUGIN_DIRS),-e ./$(dir))
	@# mysqlclient (C) reads MariaDB rows at half PyMySQL's cost; it builds against libmariadb-dev
	@if pkg-config --exists libmariadb 2>/dev/null || pkg-config --exists mysqlclient 2>/dev/null; then \
	  $(BIN)/python -m pip install -q -e '.[mysqlclient]' || echo "note: mysqlclient did not build; MariaDB runs on PyMySQL"; \
	else \
	  echo "note: no libmariadb-dev, so MariaDB runs on PyMySQL (apt-get install libmariadb-dev pkg-config, then make install, for mysqlclient)"; \
	fi
	touch $(RUN_STAMP)

$(STAMP): $(RUN_STAMP)
	$(BIN)/python -m pip install -q -e '.[test,mysql,postgres,redis,events,bench]'
	touch $(STAMP)

install: $(STAMP)

run: $(RUN_STAMP)
	$(BIN)/sbcore init --create-admin
	$(BIN)/sbcore serve --host $(HOST) --port $(PORT) --workers $(WORKERS)

test: $(STAMP)
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

# The suite against a server database: make test-db SB_TEST_DATABASE_URL=mysql://root@127.0.0.1:3306/test
test-db: $(STAMP)
	SB_TEST_DATABASE_URL='$(SB_TEST_DATABASE_URL)' $(BIN)/python -m pytest -q -m 'not slow' $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench.run $(BENCH_ARGS)

# make docs: the documentation site into site/ (mkdocs --strict: a broken link or a missing
# page fails); tools/docs_reference.py writes the generated pages (settings, functions,
# hooks, benchmark results) from the code first, as an mkdocs hook.
DOCS_STAMP := $(VENV)/.sbcore-docs
$(DOCS_STAMP): $(RUN_STAMP) setup.cfg
	$(BIN)/python -m pip install -q -e '.[docs]'
	touch $(DOCS_STAMP)

docs: $(DOCS_STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

clean:
	rm -rf $(VENV) data .pytest_cache site docs/reference
