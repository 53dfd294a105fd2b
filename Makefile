# authlog: PGXS build.  `make test` runs every suite on a throwaway cluster;
# `make demo` replays a brute-force campaign; `make bench` measures.

EXTENSION = authlog
MODULE_big = authlog
OBJS = \
	src/authlog.o \
	src/decoder.o \
	src/event_ids.o \
	src/lockout.o \
	src/mirror.o \
	src/mirror_sql.o \
	src/mongo_sink.o \
	src/policy.o \
	src/record.o \
	src/row_bson.o \
	src/stats.o
DATA = authlog--1.0.sql
PGFILEDESC = "authlog - authentication audit log with lockout policy"

PG_CPPFLAGS = -I$(srcdir)/src $(shell pkg-config --cflags libmongoc-1.0)
SHLIB_LINK = $(shell pkg-config --libs libmongoc-1.0)

# One file per behaviour; each states it in its first line.
REGRESS = install threshold locked_refusal expiry success_clears admin_reset \
	progressive retry paths bad_input user_agent policy rls privileges \
	search_path append_only decoder decoder_types decoder_toast \
	investigation investigation_plans stat_events

ISOLATION = concurrent_failures retry_race policy_change
ISOLATION_OPTS = --inputdir=test/isolation --outputdir=test/isolation/output

TAP_TESTS = 1
PROVE_TESTS = test/t/*.pl

EXTRA_CLEAN = results regression.diffs regression.out test/isolation/output tmp_check

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# every object depends on the shared header (PGXS does not track headers)
$(OBJS): src/authlog.h

# What the test, demo and bench drivers need first: authlog installed, and
# the FerretDB binary the mirror's tests and demo run (built once, cached).
prepare: all install
	bash test/ferretdb.sh build

.PHONY: prepare test demo bench
test:
	bash test/run-tests.sh

demo:
	bash test/demo.sh

bench:
	bash bench/run.sh
