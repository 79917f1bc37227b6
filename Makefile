# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000

# Tests run against real PostgreSQL and Redis (see README for the defaults).
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/abusedesk
TEST_REDIS_URL ?= redis://127.0.0.1:6379/13

.PHONY: parser run test lint format install install-dev samples axe bench bench-tools bench-parse bench-ingest bench-pages bench-linking bench-hostile drills fuzz

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(VENV)/bin/python
	$(VENV)/bin/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(VENV)/bin/python
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.installed $@

# The parser's modules compiled with Cython, rebuilt when their source changed
# (complaints/ingest/compiled.py decides at import whether the build is used).
COMPILE_PARSER = $(PY) -m abusedesk.compile_parser --if-stale
parser: $(VENV)/.installed
	$(COMPILE_PARSER)

# The real bounces of the flufl.bounce source distribution (Apache-2.0), fetched
# from PyPI rather than copied into the repository; the parser tests run them.
SAMPLES := .samples/flufl
$(SAMPLES)/.fetched: | $(VENV)/bin/python
	rm -rf .samples && mkdir -p $(SAMPLES)
	$(VENV)/bin/pip download --quiet --no-deps --no-binary :all: flufl.bounce==6.0.0 -d .samples
	tar -xzf .samples/flufl_bounce-6.0.0.tar.gz -C .samples
	cp .samples/flufl_bounce-6.0.0/tests/data/*.txt $(SAMPLES)/
	touch $@
# Mail::DeliveryStatus::BounceParser's test corpus (126 real bounces, auto-replies
# and spam, addresses anonymised), from Debian's source archive, checksum pinned.
BP_SAMPLES := .samples/bounceparser
BP_TARBALL := libmail-deliverystatus-bounceparser-perl_1.543+repacked.orig.tar.xz
BP_SHA256 := 01f89040426ab6de77f9f0bcdce61a938ef6a24179efbfdb4f7a1f68c5263282
$(BP_SAMPLES)/.fetched: | $(SAMPLES)/.fetched
	rm -rf $(BP_SAMPLES) && mkdir -p $(BP_SAMPLES)
	curl -fsS -o .samples/$(BP_TARBALL) \
		https://deb.debian.org/debian/pool/main/libm/libmail-deliverystatus-bounceparser-perl/$(BP_TARBALL)
	echo "$(BP_SHA256)  .samples/$(BP_TARBALL)" | sha256sum -c --quiet
	tar -xJf .samples/$(BP_TARBALL) -C .samples
	cp .samples/Mail-DeliveryStatus-BounceParser-1.543/t/corpus/*.msg $(BP_SAMPLES)/
	touch $@
samples: $(SAMPLES)/.fetched $(BP_SAMPLES)/.fetched

# axe-core for the browser tests' accessibility check, from npm, pinned.
AXE := .axe/node_modules/axe-core/axe.min.js
AXE_VERSION := 4.14.1
$(AXE):
	npm install --prefix .axe --no-audit --no-fund --silent axe-core@$(AXE_VERSION)
axe: $(AXE)

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## run: set up and start the desk on embedded defaults (SQLite, embedded Redis).
run: export DJANGO_DEBUG ?= 1
run: $(VENV)/.installed
	@PORT=$(PORT) $(PY) -m abusedesk.launcher --check-port
	$(COMPILE_PARSER) --optional
	mkdir -p var
	$(PY) manage.py migrate --no-input
	$(PY) manage.py seed_demo --base-url http://127.0.0.1:$(PORT)
	PORT=$(PORT) exec $(PY) -m abusedesk.launcher

## test: lint, then the whole suite against PostgreSQL and Redis.
test: export DATABASE_URL ?= $(TEST_DATABASE_URL)
test: export REDIS_URL ?= $(TEST_REDIS_URL)
test: export ABUSE_REQUIRE_COMPILED_PARSER = 1
test: $(VENV)/.installed-dev $(SAMPLES)/.fetched $(BP_SAMPLES)/.fetched $(AXE)
	$(PY) -m abusedesk.checkservices
	$(COMPILE_PARSER)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: $(VENV)/.installed-dev
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

## Benchmarks (figures in the README). Ingest and pages each use a PostgreSQL
## database of their own, created when missing, and Redis database 14.
BENCH_DB ?= postgres://postgres@127.0.0.1:5432
BENCH_REDIS_URL ?= redis://127.0.0.1:6379/14
BENCH_ENV = REDIS_URL=$(BENCH_REDIS_URL) DJANGO_SECRET_KEY=bench-only-secret DJANGO_DEBUG=0 EMAIL_URL=dummymail:// DJANGO_LOG_LEVEL=WARNING

## bench: every figure of the desk in one run (parse, ingest, pages, support,
## policy), each appended to var/bench-history.csv. On a database of its own,
## abusedesk_bench_<scale>, populated once and reused while its size matches.
##   make bench                      1M complaints, 200,000 subscribers
##   make bench BENCH_SCALE=small    a few minutes, for a try
##   make bench BENCH_VACUUM=1       VACUUM ANALYZE before measuring
BENCH_SCALE ?= default
BENCH_VACUUM ?=
BENCH_ONLY ?=
BENCH_DATABASE_URL ?= $(BENCH_DB)/abusedesk_bench_$(BENCH_SCALE)
bench: export DATABASE_URL = $(BENCH_DATABASE_URL)
bench: $(VENV)/.installed-dev $(SAMPLES)/.fetched $(BP_SAMPLES)/.fetched bench-tools
	$(COMPILE_PARSER)
	$(BENCH_ENV) $(PY) -m abusedesk.checkservices --create-database
	$(BENCH_ENV) $(PY) -m abusedesk.benchrun --scale $(BENCH_SCALE) \
		$(if $(BENCH_VACUUM),--vacuum) $(if $(BENCH_ONLY),--only $(BENCH_ONLY))

# wrk, the HTTP load tool of the page benchmark (Debian's package).
bench-tools:
	@command -v wrk >/dev/null || { command -v apt-get >/dev/null && \
		(apt-get install -y wrk || sudo apt-get install -y wrk); } || \
		{ echo "install wrk (apt-get install wrk)"; exit 1; }

bench-parse: $(VENV)/.installed-dev $(SAMPLES)/.fetched $(BP_SAMPLES)/.fetched
	$(COMPILE_PARSER)
	DJANGO_DEBUG=1 $(PY) manage.py bench_parse

## drills: the failure drills against a PostgreSQL and a Redis of their own.
drills: $(VENV)/.installed-dev
	$(PY) -m drills

## fuzz: the fuzz tests, longer than in `make test` (ABUSE_FUZZ_EXAMPLES each).
fuzz: export DATABASE_URL ?= $(TEST_DATABASE_URL)
fuzz: export REDIS_URL ?= $(TEST_REDIS_URL)
fuzz: $(VENV)/.installed-dev $(SAMPLES)/.fetched
	$(COMPILE_PARSER)
	ABUSE_FUZZ_EXAMPLES=$${ABUSE_FUZZ_EXAMPLES:-5000} $(PY) -m pytest -q -m fuzz

# The slowest hostile message (limits in complaints/ingest/limits.py); fails over 1 s.
bench-hostile: $(VENV)/.installed-dev
	$(COMPILE_PARSER)
	DJANGO_DEBUG=1 $(PY) manage.py bench_hostile --max-seconds 1

bench-ingest: export DATABASE_URL = $(BENCH_DB)/abusedesk_bench_ingest
bench-ingest: $(VENV)/.installed-dev
	$(BENCH_ENV) $(PY) -m abusedesk.checkservices --create-database
	$(BENCH_ENV) $(PY) manage.py migrate -v0
	$(COMPILE_PARSER)
	$(BENCH_ENV) $(PY) manage.py bench_ingest --messages 20000 --keep-history

bench-pages: export DATABASE_URL = $(BENCH_DB)/abusedesk_bench_default
bench-pages: $(VENV)/.installed-dev bench-tools
	$(BENCH_ENV) $(PY) -m abusedesk.checkservices --create-database
	$(BENCH_ENV) $(PY) manage.py migrate -v0
	$(BENCH_ENV) $(PY) manage.py populate_scale --reuse
	$(BENCH_ENV) $(PY) manage.py bench_pages

## Linking benchmark (issue 9): a simulated ISP mailbox through the real channel and
## two workers, scored against its truth. The command (re)creates its database.
## e.g. make bench-linking BENCH_LINKING_ARGS="--seed 2 --compare-orders"
BENCH_LINKING_ARGS ?=
bench-linking: export DATABASE_URL = $(BENCH_DB)/abusedesk_bench_linking
bench-linking: $(VENV)/.installed-dev
	$(COMPILE_PARSER)
	$(BENCH_ENV) $(PY) manage.py bench_linking $(BENCH_LINKING_ARGS)
