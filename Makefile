# hireloop: `make run` starts the platform, `make test` runs the suite (all but the fault and browser tiers,
# which `make test-faults` and `make test-browser` run; .ci/run runs all three). Both set themselves up.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test bench test-unit test-faults test-fuzz test-browser lint format topology mail traces audit dlq clean k8s-check

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: install  ## start everything (embedded Mongo and SMTP capture unless MONGO_URL / SMTP_URL are set)
	$(PY) -m infra.run

test: install  ## unit, integration (real RabbitMQ/Redis/Mongo) and end to end; not tests/faults nor the browser test
	$(PY) -m pytest -m "not faults and not browser"

test-unit: install  ## the tests that need no RabbitMQ, Redis or MongoDB (a test using `test_infra` is integration)
	$(PY) -m pytest -m "not integration and not e2e"

test-faults: install  ## only the fault-injection suite (tests/faults), with its counts printed
	$(PY) -m pytest tests/faults -m faults -s

test-fuzz: install  ## only the API fuzz test; FUZZ_EXAMPLES=200 for a longer run than its 50 (the suite runs 12 per operation)
	HIRELOOP_FUZZ_EXAMPLES=$(or $(FUZZ_EXAMPLES),50) $(PY) -m pytest gateway/tests/test_api_fuzz.py tests/e2e/test_api_fuzz.py

test-browser: install  ## only the console, portal, careers site, interview pages and board in headless Chromium (/usr/bin/chromium); screenshots in test-artifacts/console/
	$(PY) -m pytest tests/e2e/test_console.py tests/e2e/test_careers_browser.py tests/e2e/test_interviews_browser.py tests/e2e/test_board_browser.py tests/e2e/test_console_i18n.py -m browser

lint: install
	$(VENV)/bin/ruff check .

format: install
	$(VENV)/bin/ruff check --fix .

k8s-check: install  ## validate infra/k8s offline: build each overlay, check schemas (Kubernetes 1.30, CRDs) and references
	$(PY) -m infra.k8s.check

topology: install  ## declare exchanges, queues, bindings and dead-letter queues on RABBIT_URL
	$(PY) -m shared.bus.topology

traces: install  ## the latest traces of a `make run` platform as trees; ARGS="--last 10 | --trace ID | --name 'GET /v1/requisitions' (whole root span name) | --all"
	$(PY) -m shared.tracing.show $(or $(TRACES_FILE),var/traces.jsonl) $(ARGS)

mail: install  ## the latest captured emails of a `make run` platform, decoded; ARGS="--last 10"
	@$(PY) -m infra.mail --dir $(or $(MAIL_DIR),var/mail) $(ARGS)

audit: install  ## pip-audit of the installed packages where a vulnerability database is reachable (says so when none is)
	$(PY) -m infra.audit $(ARGS)

clean:
	rm -rf var test-artifacts

dlq: install  ## dead letters: `make dlq` lists; ARGS="inspect|replay|drop <service> <id>|--all" acts
	$(PY) -m shared.bus.dlq $(or $(ARGS),list)

bench: install  ## benchmarks on a platform of their own; BENCH_QUICK=1 for small sizes, BENCH_ONLY=read,intake
	$(PY) -m bench
