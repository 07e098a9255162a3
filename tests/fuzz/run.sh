#!/usr/bin/env bash
# run.sh BUILD TARGET SECONDS - runs one libFuzzer target for SECONDS on its working corpus
# (BUILD/corpus/TARGET, kept between runs) seeded from tests/fuzz/seeds/TARGET and the
# regressions in tests/fuzz/regress/TARGET. A crash, leak, timeout (FUZZ_TIMEOUT, 25 s) or
# sanitizer report fails the run and leaves the input in BUILD/artifacts/TARGET/; copy it to
# tests/fuzz/regress/TARGET/ once fixed. Prints libFuzzer's final figures.
set -u
cd "$(dirname "$0")/../.."
build=$1; t=$2; secs=${3:-60}
bin=$build/fuzz/$t
corpus=$build/corpus/$t
art=$build/artifacts/$t
mkdir -p "$corpus" "$art" "tests/fuzz/regress/$t"
dict=()
[ -f "tests/fuzz/$t.dict" ] && dict=(-dict="tests/fuzz/$t.dict")
log=$build/fuzz-$t.log
echo "fuzz $t: ${secs}s"
"$bin" -max_total_time="$secs" -timeout="${FUZZ_TIMEOUT:-25}" -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
    -artifact_prefix="$art/" "${dict[@]}" "$corpus" "tests/fuzz/seeds/$t" "tests/fuzz/regress/$t" \
    >"$log" 2>&1
rc=$?
grep -E '^#[0-9]+ +(DONE|INITED)|stat::number_of_executed_units|stat::peak_rss_mb|cov:' "$log" | tail -n 3 | sed "s/^/  $t: /"
if [ $rc -ne 0 ]; then
    echo "FAIL fuzz $t (exit $rc): see $log"
    grep -E 'ERROR:|SUMMARY:|Test unit written' "$log" | head -n 5
    exit 1
fi
echo "ok fuzz $t"
