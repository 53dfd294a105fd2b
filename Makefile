# authlog: PGXS build.  `make test` runs every suite on a throwaway cluster;
# `make demo` replays a brute-force campaign; `make bench` measures.

EXTENSION = authlog
MODULE_big = authlog
OBJS = \
	src/authlog.o \
	src/bson_rules.o \
	src/decoder.o \
	src/event_ids.o \
	src/lockout.o \
	src/mirror.o \
	src/mirror_sql.o \
	src/mongo_sink.o \
	src/pinned_session.o \
	src/policy.o \
	src/record.o \
	src/row_bson.o \
	src/seal_digest.o \
	src/seal_sql.o \
	src/sealer.o \
	src/stats.o \
	src/worker_step.o
DATA = authlog--1.0.sql
PGFILEDESC = "authlog - authentication audit log with lockout policy"

PG_CPPFLAGS = -I$(srcdir)/src $(shell pkg-config --cflags libmongoc-1.0)
SHLIB_LINK = $(shell pkg-config --libs libmongoc-1.0)

# One file per behaviour; each states it in its first line.
REGRESS = install threshold locked_refusal expiry success_clears admin_reset \
	progressive retry paths bad_input user_agent policy rls privileges \
	search_path append_only decoder decoder_types decoder_toast \
	investigation investigation_plans stat_events tenant_escape seals

ISOLATION = concurrent_failures retry_race policy_change
ISOLATION_OPTS = --inputdir=test/isolation --outputdir=test/isolation/output

TAP_TESTS = 1
PROVE_TESTS = test/t/*.pl

EXTRA_CLEAN = results regression.diffs regression.out test/isolation/output tmp_check \
	test/fuzz/fuzz_bson_rules

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# every object depends on the shared header (PGXS does not track headers)
$(OBJS): src/authlog.h src/bson_rules.h

# What the test, demo and bench drivers need first: authlog installed, and
# the FerretDB binary the mirror's tests and demo run (built once, cached).
prepare: all install
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

.PHONY: prepare test test-long demo bench
test:
	bash test/run-tests.sh

# The long suites: the fuzzer, then the load test with store restarts.
test-long:
	bash test/run-tests.sh --long

demo:
	bash test/demo.sh

bench:
	bash bench/run.sh
