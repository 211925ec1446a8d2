# One-command set-up: every target installs and starts what it needs (virtualenv, packages,
# PostgreSQL, Redis) and is safe to run again.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3

export DEBUG ?= true
export DATABASE_URL ?= postgres://gateway:gateway@127.0.0.1:25432/gateway
export REDIS_URL ?= redis://127.0.0.1:26379/0
export PORT ?= 8000
export SANDBOX_PORT ?= 8025
export SANDBOX_URL ?= http://127.0.0.1:$(SANDBOX_PORT)
export PUBLIC_BASE_URL ?= http://127.0.0.1:$(PORT)
# Tests use their own Redis database so a running `make run` never picks up test tasks.
TEST_REDIS_URL ?= $(patsubst %/0,%/1,$(REDIS_URL))

.PHONY: venv services browser static migrate dotenv run test lint bench bench-quick bench-profile

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check --upgrade pip
	$(VENV)/bin/pip install -q --disable-pip-version-check -e '.[dev]'
	touch $@

venv: $(VENV)/.installed

services:
	bash scripts/services.sh

migrate: venv services
	$(PY) manage.py migrate --noinput

# Chromium for the browser tests (tests/browser/), from Debian when missing.
browser:
	bash scripts/browser.sh

# Hashed, compressed copies of the admin's and Swagger UI's files, served by WhiteNoise.
static: venv
	$(PY) manage.py collectstatic --noinput -v0

# .env: the values above for manage.py in a new shell (gateway/settings.py reads it).
dotenv:
	bash scripts/write_env.sh

# Every process counts metrics into one directory that /metrics adds up; each run starts from zero.
run: migrate static dotenv
	rm -rf .run/prometheus && mkdir -p .run/prometheus
	PROMETHEUS_MULTIPROC_DIR=$(CURDIR)/.run/prometheus $(VENV)/bin/honcho start -f Procfile

# The static checks run first: a lint failure stops the run before the (slower) tests start.
test: venv lint services browser
	REDIS_URL=$(TEST_REDIS_URL) $(VENV)/bin/pytest $(PYTEST_ARGS)

# Style (ruff), types (mypy with the Django and DRF plugins, configured in pyproject.toml; the
# plugins import gateway.settings, which needs no secrets with DEBUG on) and the import contract.
# mypy keeps its cache in .mypy_cache, so a run after a small change takes seconds.
lint: venv
	$(VENV)/bin/ruff check .
	DEBUG=true $(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

# The benchmark runs its own stack on its own database, Redis db and ports (see bench/README.md),
# with DEBUG off over plain local HTTP: it needs an encryption key of its own, its sandbox allowed
# as a provider host, and no redirect to HTTPS.
bench bench-quick bench-profile: export FIELD_ENCRYPTION_KEYS ?= YmVuY2gtb25seS1maWVsZC1lbmNyeXB0aW9uLWtleSE=
bench bench-quick bench-profile: export PROVIDER_ALLOWED_BASE_URLS ?= http://127.0.0.1
bench bench-quick bench-profile: export SECURE_SSL_REDIRECT ?= false

# The full run records the first of each case's three runs with py-spy, so its report carries the
# profiles that explain what it measured.
bench: venv services
	$(PY) -m bench.run --profile

bench-quick: venv services
	$(PY) -m bench.run --quick

bench-profile: venv services
	$(PY) -m bench.run --quick --profile
