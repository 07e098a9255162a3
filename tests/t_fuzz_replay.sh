#!/usr/bin/env bash
# t_fuzz_replay.sh - replays every fuzz target's seeds (tests/fuzz/seeds/T) and crash
# regressions (tests/fuzz/regress/T) through its replay build ($BUILD/tests/fuzz/replay_T: the
# target's LLVMFuzzerTestOneInput with tests/fuzz/replay.c instead of libFuzzer, so any compiler
# and any sanitizer build replays them). A crash, abort or sanitizer report fails the target's
# row; every target in tests/fuzz/ must have its replay binary built. The last row checks that
# the replay driver fails on input it cannot read.
source "$(dirname "$0")/lib.sh"
for src in tests/fuzz/fuzz_*.c; do
    t=$(basename "$src" .c); t=${t#fuzz_}
    bin=$BUILD/tests/fuzz/replay_$t
    if [ ! -x "$bin" ]; then
        echo "FAIL replay $t: $bin is not built"; fail=$((fail + 1)); continue
    fi
    dirs=(tests/fuzz/seeds/$t)
    nreg=0
    if [ -d tests/fuzz/regress/$t ]; then
        dirs+=(tests/fuzz/regress/$t)
        nreg=$(find tests/fuzz/regress/$t -type f ! -name '.*' | wc -l)
    fi
    out=$(timeout 600 "${WRAP[@]}" "$bin" "${dirs[@]}" 2>&1); rc=$?
    if [ $rc -eq 0 ] && printf '%s\n' "$out" | grep -q '^replayed [0-9]* inputs$' &&
       ! printf '%s\n' "$out" | grep -qE 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error|ThreadSanitizer'; then
        echo "ok   replay $t: $(printf '%s\n' "$out" | grep '^replayed') ($nreg regressions)"
        pass=$((pass + 1))
    else
        echo "FAIL replay $t (exit $rc):"; printf '%s\n' "$out" | tail -n 15 | sed 's/^/       /'
        fail=$((fail + 1))
    fi
done
# the driver itself must be able to fail
any=$(ls "$BUILD"/tests/fuzz/replay_* 2>/dev/null | head -n 1)
if [ -n "$any" ] && ! "$any" /nonexistent/input >/dev/null 2>&1; then
    echo "ok   replay driver fails on a missing input"; pass=$((pass + 1))
else
    echo "FAIL replay driver did not fail on a missing input"; fail=$((fail + 1))
fi
echo "RESULT $pass $fail $skip"
[ "$fail" -eq 0 ]
