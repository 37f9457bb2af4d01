# Real Deal Kickz: `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help
.ONESHELL:
.SHELLFLAGS := -eu -o pipefail -c

VENV := .venv
PY := $(VENV)/bin/python
PYTHON ?=
HOST ?= 127.0.0.1
PORT ?= 8000
# The local Stripe stand-in started by `make run` (see docs/payments.md).
STANDIN_PORT ?= 12111
# PostgreSQL and Redis used by `make test` (and bench/loadtest) when reachable.
PG_HOST ?= 127.0.0.1
PG_PORT ?= 5432
PG_ADMIN_URL ?= postgres://postgres@$(PG_HOST):$(PG_PORT)/postgres
PG_DB ?= rdk
TEST_DATABASE_URL ?= postgres://rdk@$(PG_HOST):$(PG_PORT)/$(PG_DB)
REDIS_HOST ?= 127.0.0.1
REDIS_PORT ?= 6379
TEST_REDIS_DB ?= 15
TEST_CACHE_URL ?= redis://$(REDIS_HOST):$(REDIS_PORT)/$(TEST_REDIS_DB)
PYTEST_ARGS ?=

define find_python
for candidate in $(PYTHON) python3.13 python3.12 \
    $$(ls -d "$$(pyenv root 2>/dev/null || echo "$$HOME/.pyenv")"/versions/3.1[2-9]*/bin/python3 2>/dev/null | sort -rV); do \
  if "$$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; then \
    echo "$$candidate"; exit 0; \
  fi; \
done; \
echo "No Python 3.12 or newer found. Install one (e.g. 'pyenv install 3.12') or pass PYTHON=/path/to/python3.12." >&2; \
exit 1
endef

.PHONY: help install run test lint typecheck fmt check-migrations schema schema-check bench loadtest loadtest-scaleout scaleout chaos pg-setup clean audit bandit release-check

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-17s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml
	@python_bin=$$($(find_python))
	if [ ! -x $(PY) ]; then
	  echo "Creating $(VENV) with $$python_bin ($$($$python_bin --version))"
	  "$$python_bin" -m venv $(VENV)
	fi
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed ## Create .venv and install RDK with its test tools (quick when nothing changed)

run: install ## Start the shop at http://127.0.0.1:8000 on SQLite and local memory, with the Stripe stand-in, a task worker and the scheduler
	@export RDK_ENV=local RDK_LOG_FORMAT=$${RDK_LOG_FORMAT:-console}
	# Stripe sends the shopper back to SITE_URL: the address this server listens on.
	export SITE_URL=$${SITE_URL:-http://$(HOST):$(PORT)}
	$(PY) manage.py migrate --no-input -v 0
	if [ "$$($(PY) manage.py shell -v 0 -c 'from catalog.models import Product; print(Product.objects.exists())')" = "False" ]; then
	  echo "make run: empty database; loading the demo catalog (manage.py seed_demo)"
	  $(PY) manage.py seed_demo
	fi
	# Every background process started below dies with this one.
	children=""
	trap 'kill $$children 2>/dev/null || true' EXIT INT TERM
	# The local Stripe stand-in, unless real Stripe keys are configured (docs/payments.md).
	if [ -z "$${STRIPE_SECRET_KEY:-}" ] && [ -z "$${STRIPE_API_BASE:-}" ]; then
	  export STRIPE_API_BASE=http://127.0.0.1:$(STANDIN_PORT)
	  $(PY) manage.py stripe_standin --port $(STANDIN_PORT) \
	    --webhook-url http://$(HOST):$(PORT)/api/stripe/webhook &
	  children="$$children $$!"
	  echo "  Stripe stand-in at $$STRIPE_API_BASE (pay with 4242 4242 4242 4242)"
	else
	  echo "  Stripe: using STRIPE_SECRET_KEY / STRIPE_API_BASE from the environment"
	fi
	echo
	echo "  Real Deal Kickz is starting at http://$(HOST):$(PORT)/"
	echo "  Health: http://$(HOST):$(PORT)/healthz  Readiness: http://$(HOST):$(PORT)/readyz"
	# Background work (docs/operations.md): one task worker and the scheduler.
	$(PY) manage.py db_worker --queue-name '*' --no-startup-delay -v 0 &
	children="$$children $$!"
	$(PY) manage.py crontask --no-heartbeat >/dev/null &
	children="$$children $$!"
	echo "  Task worker and scheduler started; emails land in the ops console's Outbox."
	SITE_URL=http://$(HOST):$(PORT) $(PY) manage.py demo_admin
	echo
	$(PY) manage.py runserver $(HOST):$(PORT)

lint: install ## ruff check and ruff format --check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# The type check runs under settings of its own: the django-stubs plugin imports
# rdk.settings, and nothing from the caller's environment (a production
# RDK_ENV, a DATABASE_URL) may change or break that. Nothing connects.
TYPECHECK_ENV := env -i PATH="$$PATH" HOME="$$HOME" RDK_ENV=local RDK_LOG_LEVEL=warning

typecheck: install ## mypy with django-stubs: strict for rdk/ and every services/selectors module (docs/development.md)
	@$(TYPECHECK_ENV) $(PY) -m mypy

bandit: install ## Static security scan of the code (configured in pyproject.toml)
	$(VENV)/bin/bandit -c pyproject.toml -r . -q

audit: install ## bandit, then pip-audit of the installed packages (needs PyPI or OSV; see docs/security.md)
	@status=0
	$(MAKE) --no-print-directory bandit || status=$$?
	$(PY) manage.py audit_dependencies || status=$$?
	exit $$status

fmt: install ## Format and autofix with ruff
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

pg-setup: install ## Create the non-superuser role and database RDK connects as (idempotent)
	$(PY) manage.py pg_bootstrap --admin-url "$(PG_ADMIN_URL)" --database "$(PG_DB)"

test: install ## Lint, type check, migration check, pytest (PostgreSQL when reachable), then RLS + concurrency via pgbouncer
	@$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory typecheck
	$(MAKE) --no-print-directory bandit
	# The suite runs as local on PostgreSQL and Redis, which RDK accepts only when said.
	export RDK_ENV=local
	# Debian packages the tests need (.ci/apt-packages: installed when root).
	skip_browser=0
	.ci/apt-packages ensure || { status=$$?; [ $$status -eq 3 ] || exit $$status; skip_browser=1; }
	pytest_skip=()
	if [ $$skip_browser = 1 ]; then pytest_skip=(--ignore=tests/e2e); fi
	if (exec 3<>/dev/tcp/$(PG_HOST)/$(PG_PORT)) 2>/dev/null; then
	  $(PY) manage.py pg_bootstrap --admin-url "$(PG_ADMIN_URL)" --database "$(PG_DB)"
	  export DATABASE_URL="$(TEST_DATABASE_URL)"
	  echo "make test: database PostgreSQL at $(PG_HOST):$(PG_PORT) (role rdk, not a superuser)"
	elif [ "$${CI:-}" = "true" ]; then
	  echo "make test: PostgreSQL at $(PG_HOST):$(PG_PORT) is unreachable and CI=true: failing, not falling back." >&2
	  exit 1
	else
	  export DATABASE_URL="sqlite:///$(CURDIR)/var/test.sqlite3"
	  echo "make test: PostgreSQL unreachable; FALLING BACK TO SQLITE. Postgres-only tests will be skipped."
	fi
	if (exec 3<>/dev/tcp/$(REDIS_HOST)/$(REDIS_PORT)) 2>/dev/null; then
	  export CACHE_URL="$(TEST_CACHE_URL)"
	  echo "make test: cache Redis at $(REDIS_HOST):$(REDIS_PORT) db $(TEST_REDIS_DB)"
	elif [ "$${CI:-}" = "true" ]; then
	  echo "make test: Redis at $(REDIS_HOST):$(REDIS_PORT) is unreachable and CI=true: failing." >&2
	  exit 1
	else
	  echo "make test: Redis unreachable; using the local-memory cache."
	fi
	mkdir -p var
	$(PY) manage.py makemigrations --check --dry-run
	$(MAKE) --no-print-directory schema-check
	status=0
	$(PY) -m pytest "$${pytest_skip[@]}" $(PYTEST_ARGS) || status=$$?
	if [ $$status -eq 5 ]; then echo "make test: pytest collected no tests; that is a failure." >&2; exit 1; fi
	if [ $$skip_browser = 1 ]; then
	  echo "make test: !!! BROWSER TESTS NOT RUN: chromium is missing (RDK_SKIP_BROWSER_TESTS=1); tests/e2e skipped. Install it: sudo apt-get install chromium !!!"
	fi
	if [ $$status -ne 0 ]; then exit $$status; fi
	# The row-security suite and the concurrency tests again, through a real
	# pgbouncer in transaction mode (docs/scaling.md): a scope leaking across
	# pooled transactions is the failure row security must never have.
	if [ -n "$(PYTEST_ARGS)" ] || [[ "$$DATABASE_URL" != postgres* ]]; then exit 0; fi
	# .ci/apt-packages installed pgbouncer when root; CI fails without it.
	if ! command -v pgbouncer >/dev/null 2>&1 && [ ! -x /usr/sbin/pgbouncer ]; then
	  if [ "$${CI:-}" = "true" ]; then
	    echo "make test: pgbouncer is not installed and CI=true: failing." >&2; exit 1
	  else
	    echo "make test: pgbouncer not installed (apt-get install pgbouncer); SKIPPING the pooled pass."
	    exit 0
	  fi
	fi
	echo "make test: row security and concurrency again through pgbouncer (transaction mode)"
	$(PY) -m rdk.prodlike through-pgbouncer -- $(PY) -m pytest -m "rls or pooler" -q

# The schema is generated against PostgreSQL's field ranges (what RDK runs on);
# nothing connects to this database.
SCHEMA_ENV := RDK_ENV=local RDK_LOG_LEVEL=warning CACHE_URL=locmemcache:// \
	DATABASE_URL=postgres://schema@127.0.0.1:5432/schema

schema: install ## Rewrite openapi.yaml from the code (commit the result)
	@$(SCHEMA_ENV) $(PY) manage.py spectacular --file openapi.yaml --validate --fail-on-warn
	$(PY) -m openapi_spec_validator openapi.yaml >/dev/null
	echo "make schema: openapi.yaml rewritten and valid"

schema-check: install ## Fail when the code's OpenAPI schema is invalid or differs from openapi.yaml
	@generated=$$(mktemp --suffix=.yaml)
	trap 'rm -f "$$generated"' EXIT
	$(SCHEMA_ENV) $(PY) manage.py spectacular --file "$$generated" --fail-on-warn
	if ! $(PY) -m openapi_spec_validator "$$generated" >/dev/null; then
	  echo "make test: the generated OpenAPI schema is not valid OpenAPI (see above)." >&2; exit 1
	fi
	if ! diff -u openapi.yaml "$$generated"; then
	  echo "make test: the API's schema differs from the committed openapi.yaml (diff above). Run 'make schema' and commit it." >&2; exit 1
	fi
	echo "make test: openapi.yaml is valid and matches the code"

BENCH_DB ?= rdk_bench
BENCH_REDIS_DB ?= 10
BENCH_PORT ?= 8190
BENCH_ARGS ?=

bench: install ## Benchmark RDK against a bare-Django floor (gunicorn, staging settings, wrk); targets and PASS/FAIL
	@# Production-like settings from rdk/prodlike.py, shared with make loadtest.
	eval "$$($(PY) -m rdk.prodlike env --database $(BENCH_DB) --redis-db $(BENCH_REDIS_DB) \
	  --pg-host $(PG_HOST) --pg-port $(PG_PORT) --redis-host $(REDIS_HOST) --redis-port $(REDIS_PORT) \
	  --site-url https://127.0.0.1:$(BENCH_PORT) --state-dir "$(CURDIR)/var/bench" \
	  --stripe-api-base http://127.0.0.1:$$(($(BENCH_PORT) + 1)))"
	RDK_ENV=local DATABASE_URL= CACHE_URL= $(PY) manage.py pg_bootstrap --admin-url "$(PG_ADMIN_URL)" --database "$(BENCH_DB)"
	$(PY) manage.py migrate --no-input -v 0
	$(PY) manage.py seed_demo
	$(PY) manage.py collectstatic --no-input -v 0
	$(PY) manage.py bench --port $(BENCH_PORT) $(BENCH_ARGS)

# Load tests (docs/scaling.md): RDK under gunicorn with staging settings on
# PostgreSQL LOADTEST_DB and Redis db LOADTEST_REDIS_DB, the Stripe stand-in,
# and locust headless for LOADTEST_SECONDS; results under results/<time>/.
LOADTEST_DB ?= rdk_loadtest
LOADTEST_REDIS_DB ?= 11
LOADTEST_PORT ?= 8201
LOADTEST_STANDIN_PORT ?= 12201
LOADTEST_SECONDS ?= 60
SCALE ?= 1

loadtest: install ## Load test production-like RDK with locust (SCALE=2: two processes); pass/fail summary
	@RDK_ENV=local DATABASE_URL= CACHE_URL= $(PY) manage.py pg_bootstrap --admin-url "$(PG_ADMIN_URL)" --database "$(LOADTEST_DB)"
	PG_HOST=$(PG_HOST) PG_PORT=$(PG_PORT) REDIS_HOST=$(REDIS_HOST) REDIS_PORT=$(REDIS_PORT) \
	  LOADTEST_DB=$(LOADTEST_DB) LOADTEST_REDIS_DB=$(LOADTEST_REDIS_DB) LOADTEST_PORT=$(LOADTEST_PORT) \
	  LOADTEST_STANDIN_PORT=$(LOADTEST_STANDIN_PORT) LOADTEST_SECONDS=$(LOADTEST_SECONDS) SCALE=$(SCALE) \
	  $(PY) locustfiles/run.py

loadtest-scaleout: ## The load test against two RDK processes sharing PostgreSQL and Redis, plus cross-process checks
	@$(MAKE) --no-print-directory loadtest SCALE=2

# make scaleout (docs/scaling.md): three hosts as network namespaces rdkso1..3 on
# bridge rdkso0 (10.77.0.0/24), HAProxy (deploy/haproxy.cfg), pgbouncer
# (deploy/pgbouncer.ini) in front of PostgreSQL database SCALEOUT_DB, a Redis of
# its own; locust through the balancer for SCALEOUT_SECONDS while one host is
# killed and the others restart one by one. Root only; removes all it created.
SCALEOUT_DB ?= rdk_scaleout_lb
SCALEOUT_SECONDS ?= 150

scaleout: install ## Several hosts behind HAProxy + pgbouncer; kill one and roll the rest under load
	@if [ "$$(id -u)" != 0 ]; then echo "make scaleout: needs root (ip netns)." >&2; exit 2; fi
	missing=()
	for tool in haproxy pgbouncer; do [ -x /usr/sbin/$$tool ] || missing+=($$tool); done
	if [ $${#missing[@]} -gt 0 ]; then
	  echo "make scaleout: apt-get install $${missing[*]}"
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$${missing[@]}" >/dev/null
	fi
	RDK_ENV=local DATABASE_URL= CACHE_URL= $(PY) manage.py pg_bootstrap --admin-url "$(PG_ADMIN_URL)" --database "$(SCALEOUT_DB)"
	trap '$(PY) locustfiles/scaleout.py --cleanup' EXIT
	PG_HOST=$(PG_HOST) PG_PORT=$(PG_PORT) SCALEOUT_DB=$(SCALEOUT_DB) SCALEOUT_SECONDS=$(SCALEOUT_SECONDS) \
	  timeout --kill-after=30 $$(( $(SCALEOUT_SECONDS) + 600 )) $(PY) locustfiles/scaleout.py

# make chaos (docs/operations.md): two RDK processes, the task worker, the
# scheduler and the Stripe stand-in under locust for CHAOS_SECONDS, on loopback,
# with a Redis (port 10179) and a PostgreSQL cluster (port 10150) of its own,
# stopped and restarted in turn with the stand-in, a gunicorn worker, its own
# SMTP server (127.0.0.1:10125) and the task worker (killed inside a send).
# Root only (pg_createcluster); drops the cluster on exit.
CHAOS_SECONDS ?= 160

chaos: install ## Stop and restart Redis, PostgreSQL, Stripe, a web worker, SMTP and the task worker (mid-send) under load; prove nothing lost
	@if [ "$$(id -u)" != 0 ]; then echo "make chaos: needs root (pg_createcluster)." >&2; exit 2; fi
	trap '$(PY) locustfiles/chaos.py --cleanup >/dev/null' EXIT
	CHAOS_SECONDS=$(CHAOS_SECONDS) timeout --kill-after=30 $$(( $(CHAOS_SECONDS) + 300 )) \
	  $(PY) locustfiles/chaos.py

clean: ## Remove .venv, caches and local data under var/
	rm -rf $(VENV) var .pytest_cache .ruff_cache .mypy_cache db.sqlite3

ENV_FILE ?=
RELEASE_CHECK_ARGS ?=

release-check: install ## The release gate for ENV_FILE=path (env, migrations + dry run on the latest snapshot, OpenAPI, types, tests, check --deploy): one verdict
	@if [ -z "$(ENV_FILE)" ]; then echo "make release-check: pass ENV_FILE=path/to/the/target.env" >&2; exit 2; fi
	$(PY) manage.py release_check --env-file "$(ENV_FILE)" $(RELEASE_CHECK_ARGS)
