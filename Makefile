# The two commands of the README: `make run` and `make test`. Both build .venv first.
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
STAMP := $(VENV)/.installed-$(shell sha1sum requirements.txt | cut -c1-12)
CATALOGUES := $(wildcard partnernet/translations/*/LC_MESSAGES/messages.po)
COMPILED := $(CATALOGUES:.po=.mo)

.PHONY: run test test-clocks test-browser load bench translations extract-messages clean

$(STAMP): requirements.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt
	rm -f $(VENV)/.installed-*
	touch $@

%.mo: %.po $(STAMP)
	$(BIN)/pybabel compile -f -i $< -o $@

translations: $(COMPILED)

# Cards to group robots link to the ticket page at PUBLIC_URL: this server's, unless it is set.
PUBLIC_URL ?= http://127.0.0.1:5000
run: $(STAMP) translations
	$(FLASK) db upgrade
	$(FLASK) seed-demo --if-empty
	PUBLIC_URL=$(PUBLIC_URL) $(FLASK) serve --host 127.0.0.1 --port 5000

test: $(STAMP) translations
	$(BIN)/python -m pytest -q

# The clock sweep (README "Tests"): the tests marked clock at six moments in China, as CI runs it.
test-clocks: $(STAMP) translations
	bash .ci/clock-sweep

# The browser tests in Debian's headless Chromium (apt-get install chromium fonts-noto-cjk); left
# out of `make test` by pytest.ini. Screenshots of every page visited: test-artifacts/screenshots/.
test-browser: $(STAMP) translations
	$(BIN)/python -m pytest -q tests/browser

# The load test at full length (README "Reliability"): 20 API clients for LOAD_SECONDS (at most 120)
# against gunicorn with 4 workers on PostgreSQL: TEST_POSTGRES_URL's server, else a private one.
LOAD_SECONDS ?= 120
load: $(STAMP) translations
	LOAD_SECONDS=$(LOAD_SECONDS) $(BIN)/python -m pytest -q tests/test_load.py

# The benchmarks (benchmarks/README.md): routing (tenth, full and dense coverage), the audit (on SQLite, then on a cached
# PostgreSQL copy: BENCH_POSTGRES_URL, else the development server; skipped with a note without one), the HQ pages at 1M
# tickets, intake, the bulk import and its bombs, and the crawl of every GET route at 1M tickets. They report figures and
# never fail the build; performance is measured here only, never by timed assertions in `make test`.
bench: $(STAMP)
	$(BIN)/python benchmarks/bench_routing.py
	$(BIN)/python benchmarks/bench_audit.py
	$(BIN)/python benchmarks/bench_pages.py
	$(BIN)/python benchmarks/bench_intake.py --against 33935ec
	$(BIN)/python benchmarks/bench_import.py
	$(BIN)/python benchmarks/bench_crawl.py

# Re-extract every translatable string and merge into both catalogues (then translate zh_CN).
extract-messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -o partnernet/translations/messages.pot .
	$(BIN)/pybabel update -i partnernet/translations/messages.pot -d partnernet/translations --no-fuzzy-matching

clean:
	rm -rf $(VENV) .pytest_cache
