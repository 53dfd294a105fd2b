#!/usr/bin/env bash
# Build the libFuzzer target for the mirror's document rules, replay the
# regressions (inputs that once broke a rule) and the seed corpus, then fuzz
# for FUZZ_SECONDS (default 300).  Needs no server.  A crash is saved under
# test/output/fuzz and fails the run; add it to test/fuzz/regressions.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
seconds=${FUZZ_SECONDS:-300}

make -s test/fuzz/fuzz_bson_rules
target=$top/test/fuzz/fuzz_bson_rules

echo "== fuzz: replaying $(ls test/fuzz/regressions | wc -l) regressions and $(ls test/fuzz/corpus | wc -l) seeds"
"$target" test/fuzz/regressions/* test/fuzz/corpus/* 2>&1 | tail -1

work=$(mktemp -d /tmp/authlog-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus" "$work/artifacts"
cp test/fuzz/corpus/* test/fuzz/regressions/* "$work/corpus/"
echo "== fuzz: $seconds s"
if ! "$target" -max_total_time="$seconds" -max_len=65536 -print_final_stats=1 \
		-artifact_prefix="$work/artifacts/" "$work/corpus" >"$work/fuzz.log" 2>&1; then
	mkdir -p test/output/fuzz
	cp "$work"/artifacts/* "$work/fuzz.log" test/output/fuzz/ 2>/dev/null || true
	tail -40 "$work/fuzz.log"
	echo "fuzz: a rule broke; the input is in test/output/fuzz" >&2
	exit 1
fi
grep -E "^stat::number_of_executed_units|^Done" "$work/fuzz.log" || true
