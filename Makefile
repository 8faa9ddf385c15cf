# discuss — every task a developer or CI runs. `make run` and `make test` are the quick start.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export DISCUSS_INSTANCE_PATH ?= $(CURDIR)/instance
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
REDIS_URL ?= redis://127.0.0.1:6379/0

.PHONY: run test test-sqlite test-pg lint bench bench-pg bench-import screenshots clean messages

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/discuss db upgrade
	$(BIN)/discuss demo-setup   # prints a one-time sign-in link for the demo moderator
	$(BIN)/flask --app wsgi run --host 127.0.0.1 --port 5000

# The whole suite on SQLite (with Redis and Chromium where present), then again on PostgreSQL
# (without the browser, and without the tests that start the service as processes on databases
# of their own: they do the same on either leg).
test: $(STAMP)
	$(BIN)/python -m tests.legs check
	$(BIN)/python -m pytest -q -p no:cacheprovider
	@if $(BIN)/python -m tests.legs postgres; then \
	  echo "== the suite again on PostgreSQL"; \
	  DISCUSS_TEST_DATABASE_URL=$(PG_URL) $(BIN)/python -m pytest -q -p no:cacheprovider -m "not browser and not processes"; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python -m bench.run

bench-pg: $(STAMP)
	DISCUSS_BENCH_DATABASE_URL=$(PG_URL) $(BIN)/python -m bench.run

# Import a generated 100 MB Disqus export: comments/second and peak memory (docs/import.md).
bench-import: $(STAMP)
	$(BIN)/python -m bench.import_bench

screenshots: $(STAMP)
	$(BIN)/python -m tests.browser.screenshots --all

# Extract every marked text into the template and merge it into each language's catalog (new
# texts arrive empty, changed ones fuzzy: tests/test_languages.py fails until they are done).
KEYWORDS := -k _l -k N_ -k N_plural:1,2 -k InvalidInput -k NotSignedIn -k Forbidden -k NotFound -k Conflict \
	-k TooLarge -k RateLimited -k Unavailable -k DiscussError
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg $(KEYWORDS) --no-location --sort-output \
	  --project discuss --copyright-holder "discuss contributors" -o discuss/translations/messages.pot .
	$(BIN)/pybabel update -i discuss/translations/messages.pot -d discuss/translations --no-fuzzy-matching --ignore-obsolete

clean:
	rm -rf $(VENV) instance tests/artifacts
