# authlog: PGXS build.  `make test` runs every suite on a throwaway cluster;
# `make demo` replays a brute-force campaign; `make bench` measures.

EXTENSION = authlog
MODULE_big = authlog
OBJS = \
	src/account_row.o \
	src/authlog.o \
	src/bson_rules.o \
	src/caller_proof.o \
	src/change_message.o \
	src/decoder.o \
	src/event_ids.o \
	src/jws.o \
	src/lockout.o \
	src/mirror.o \
	src/mirror_sql.o \
	src/mongo_sink.o \
	src/pinned_session.o \
	src/policy.o \
	src/record.o \
	src/request_fingerprint.o \
	src/request_identity.o \
	src/retention.o \
	src/row_bson.o \
	src/seal_digest.o \
	src/seal_members.o \
	src/seal_sql.o \
	src/sealer.o \
	src/sha256.o \
	src/slot_stream.o \
	src/stats.o \
	src/table_shape.o \
	src/worker.o
# 1.0 is released and never changes.  The 1.1 install script is built from
# the pieces in schema/, in the order the data model reads (types, readers'
# identity, tables, write path, seals, investigation, metrics, mirror,
# grants); an installed
# 1.0 reaches 1.1 by authlog--1.0--1.1.sql, made from
# schema/upgrade/1.0--1.1.sql, whose "--@ include PIECE" lines take in the
# pieces that are wholly new in 1.1 (one text for both ways), and
# test/t/130 proves that both ways make the same schema
# (test/schema_fingerprint.sql).
SCHEMA_PIECES = $(sort $(wildcard $(srcdir)/schema/[0-9][0-9]_*.sql))
DATA = authlog--1.0.sql
DATA_built = authlog--1.1.sql authlog--1.0--1.1.sql
PGFILEDESC = "authlog - authentication audit log with lockout policy"

PG_CPPFLAGS = -I$(srcdir)/src $(shell pkg-config --cflags libmongoc-1.0 libcrypto 2>/dev/null)
SHLIB_LINK = $(shell pkg-config --libs libmongoc-1.0 libcrypto 2>/dev/null)

# One file per behaviour; each states it in its first line.
REGRESS = install threshold locked_refusal expiry success_clears admin_reset \
	progressive retry paths bad_input user_agent policy rls privileges \
	search_path append_only decoder decoder_types decoder_toast \
	investigation investigation_plans stat_events stat_outcomes tenant_escape seals \
	explain_oracle retry_mismatch lockout_status_scope grant_names \
	account_organisation stale_grants lockout_clock unsealed \
	user_id_matching retention partitions retire_partitions account_row

ISOLATION = concurrent_failures retry_race policy_change partition_attach account_row_lock
ISOLATION_OPTS = --inputdir=test/isolation --outputdir=test/isolation/output

TAP_TESTS = 1
PROVE_TESTS = test/t/*.pl

EXTRA_CLEAN = results regression.diffs regression.out test/isolation/output tmp_check \
	test/fuzz/fuzz_bson_rules

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# every object depends on the headers (PGXS does not track headers)
$(OBJS): $(wildcard $(srcdir)/src/*.h)

authlog--1.0--1.1.sql: $(srcdir)/schema/upgrade/1.0--1.1.sql $(SCHEMA_PIECES)
	awk -v dir="$(srcdir)/schema/" '/^--@ include / { f = dir $$3; n = 0; \
		while ((r = (getline line < f)) > 0) { print line; n++ } close(f); \
		if (r < 0 || n == 0) { print "no piece " f > "/dev/stderr"; exit 1 } next } { print }' $< >$@ \
	  || { rm -f $@; exit 1; }

authlog--1.1.sql: $(SCHEMA_PIECES)
	{ printf '%s\n' '/* authlog--1.1.sql: the data model of authlog, made by make from schema/NN_*.sql; edit those */' \
	    '' '\echo Use "CREATE EXTENSION authlog" to load this file. \quit'; \
	  for piece in $(SCHEMA_PIECES); do printf '\n'; cat "$$piece"; done; } >$@

# What the test, demo and bench drivers need first: authlog installed, and
# the FerretDB binary the mirror's tests and demo run (built once, cached).
prepare: all install api
	bash test/ferretdb.sh build

# The fuzzer of the document rules (src/bson_rules.c), built with clang's
# libFuzzer against the frontend libpgcommon: no server needed.
FUZZ_CC ?= clang
test/fuzz/fuzz_bson_rules: test/fuzz/fuzz_bson_rules.c src/bson_rules.c src/bson_rules.h
	$(FUZZ_CC) -g -O1 -Wno-ignored-attributes -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=undefined -DFRONTEND -I$(srcdir)/src \
		-I$(includedir_server) -I$(includedir_internal) $(shell pkg-config --cflags libbson-1.0) \
		-o $@ test/fuzz/fuzz_bson_rules.c src/bson_rules.c \
		-L$(pkglibdir) -lpgcommon -lpgport $(shell pkg-config --libs libbson-1.0) -lm

# authlog-api, the platform API (api/, Go): built by make api, make demo and
# make test, never by the plain make a DBA runs.  Its tests are compiled
# here (as whoever runs make, with the module cache) and run by
# test/run-tests.sh against throwaway clusters (as postgres when root).
GO ?= $(shell command -v go || echo /usr/local/go/bin/go)
API_TEST_PACKAGES = bearer console evidence httpapi ocsf ratelimit
api:
	cd api && GOFLAGS=-mod=mod $(GO) build -o ../build/bin/authlog-api ./cmd/authlog-api
	$(GO) build -C test/tokens -o ../../build/bin/tokens .
	$(GO) build -C test/idp-login -o ../../build/bin/idp-login .
	mkdir -p build/api-tests
	cd api && for pkg in $(API_TEST_PACKAGES); do \
		GOFLAGS=-mod=mod $(GO) test -c -o ../build/api-tests/$$pkg.test ./internal/$$pkg || exit 1; done

.PHONY: deps prepare api test test-long demo bench
# The Debian packages each driver needs: installed when run as root, named in
# the exact `sudo apt-get install` line otherwise (test/deps.sh); quick when
# all is there.  `make && make install` alone needs no Go and no test tools.
deps:
	@bash test/deps.sh test-long

test:
	@bash test/deps.sh test
	bash test/run-tests.sh

# The long suites: the fuzzer, then the load test with store restarts.
test-long:
	@bash test/deps.sh test-long
	bash test/run-tests.sh --long

demo:
	@bash test/deps.sh demo
	bash test/demo.sh

bench:
	@bash test/deps.sh test
	bash bench/run.sh
