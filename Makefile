# Yiwang developer commands. `make help` lists them.
#
# Needs only Python 3.11 with pip (and make): uv is installed into .tools/ on first use,
# the locked dependencies into .venv/. Python is never downloaded.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

export UV_PYTHON_DOWNLOADS := never

# uv: $(UV) if given, else the pinned copy in .tools/, else uv on PATH, else bootstrap
# the pinned copy into .tools/ (bash scripts/bootstrap.sh does that on `make sync`).
UV ?= $(or $(wildcard .tools/bin/uv),$(shell command -v uv 2>/dev/null),.tools/bin/uv)
RUN := $(UV) run --locked

# Extra arguments for pytest, e.g. make test PYTEST_ARGS="-k login -x"
PYTEST_ARGS ?=
PYTEST_WORKERS ?= auto
# YIWANG_SKIP_BROWSER=1 skips the Playwright tests (and the browser install).
ifeq ($(YIWANG_SKIP_BROWSER),1)
PYTEST_MARKERS := -m "not browser"
endif

.PHONY: help
help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z][a-z-]*:.*## / {printf "  make %-18s %s\n", $$1, $$2}' \
		$(MAKEFILE_LIST)

.PHONY: sync
sync: ## install uv if needed and the locked dependencies into .venv/
	@UV="$(UV)" bash scripts/bootstrap.sh

.PHONY: demo
demo: sync messages-missing ## set up the demo database and serve it on http://127.0.0.1:8000
	$(RUN) python manage.py migrate --noinput
	$(RUN) python manage.py createcachetable
	$(RUN) python manage.py demo_load
	$(RUN) python manage.py demo_serve

.PHONY: browser
browser: ## install Debian's chromium and CJK fonts for the browser tests if missing
	@bash scripts/ensure-browser.sh

# pytest exits 5 when it collected no tests; that is a failure here, not a pass.
.PHONY: test
test: sync messages-missing browser ## run the test suite (SQLite, or DATABASE_URL when set)
	@rc=0; $(RUN) pytest -n $(PYTEST_WORKERS) $(PYTEST_MARKERS) $(PYTEST_ARGS) || rc=$$?; \
	if [ "$$rc" -eq 5 ]; then echo "make test: pytest collected no tests" >&2; fi; \
	exit "$$rc"

.PHONY: test-postgres
test-postgres: ## run the test suite against a throwaway PostgreSQL (bash scripts/postgres.sh)
	@bash scripts/with-postgres.sh $(MAKE) test

.PHONY: lint
lint: sync ## ruff check, ruff format --check, mypy
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy .

.PHONY: format
format: sync ## apply ruff's fixes and formatting
	$(RUN) ruff check --fix .
	$(RUN) ruff format .

.PHONY: migrations-check
migrations-check: sync ## fail when a model change has no migration
	$(RUN) python manage.py makemigrations --check --dry-run

.PHONY: openapi
openapi: sync ## regenerate docs/openapi.json from the code
	$(RUN) python manage.py export_openapi_schema --api config.api.api --indent 2 --sorted \
		--output docs/openapi.json

.PHONY: messages
messages: sync ## compile the translations (.po -> .mo)
	@if command -v msgfmt >/dev/null 2>&1; then \
		$(RUN) python manage.py compilemessages --ignore '.*' --ignore var --ignore staticfiles; \
	else \
		echo "msgfmt (GNU gettext) not found; compiling with polib" >&2; \
		$(RUN) python scripts/compile_messages.py; \
	fi

# A fresh checkout without compiled catalogues still gets the Chinese interface.
.PHONY: messages-missing
messages-missing: sync
	@$(RUN) python scripts/compile_messages.py --missing-only

.PHONY: postgres-start postgres-stop
postgres-start: ## start the throwaway PostgreSQL server and print its DATABASE_URL
	@bash scripts/postgres.sh start
postgres-stop: ## stop the throwaway PostgreSQL server
	@bash scripts/postgres.sh stop
