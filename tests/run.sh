#!/usr/bin/env bash
# run.sh - runs every test binary in $BUILD/tests and every tests/t_*.sh script, sums their
# "RESULT passed failed skipped" lines and prints the closing "N passed, N failed" line.
#
# Every test gets its own report folder ($TEST_LOGS): the sanitizers write their reports there
# (ASAN_OPTIONS / UBSAN_OPTIONS log_path) and so does the memcheck wrapper of tests/valgrind.sh.
# A test that leaves a report there fails, whatever it did with the process's stderr and exit
# status. Environment:
#   TEST_WRAP="valgrind ..."  prefix for the C unit-test binaries (shell tests see it too)
#   TEST_JOBS=N               run N tests at once (output still in order; default 1)
#   SHELL_TESTS="t_a t_b"     run only those shell tests
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
JOBS=${TEST_JOBS:-1}
read -r -a WRAP <<< "${TEST_WRAP:-}"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
pass=0; fail=0; skip=0; crashed=()
names=(); pids=(); next=0

start_one() { # name command...
    local name=$1; shift
    mkdir -p "$work/$name.logs"
    (
        export TEST_LOGS="$work/$name.logs"
        export ASAN_OPTIONS="log_path=$TEST_LOGS/asan${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
        export UBSAN_OPTIONS="log_path=$TEST_LOGS/ubsan:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
        export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
        t0=$SECONDS
        "$@" > "$work/$name.out" 2>&1
        echo "$? $((SECONDS - t0))" > "$work/$name.rc"
    ) &
    names+=("$name"); pids+=($!)
    if [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; then wait -n; fi
    flush
}

flush() { # reports, in order, the tests that have finished ("all": waits for the rest)
    while [ "$next" -lt "${#names[@]}" ]; do
        [ "${1:-}" = all ] || [ -f "$work/${names[$next]}.rc" ] || break
        report_one "$next"; next=$((next + 1))
    done
}

report_one() { # index
    local name=${names[$1]}
    wait "${pids[$1]}" 2>/dev/null
    echo "== $name"
    local out="$work/$name.out" rc secs
    read -r rc secs < "$work/$name.rc"
    grep -v '^RESULT ' "$out"
    echo "($name took $secs s)"
    local reports
    reports=$(find "$work/$name.logs" -type f -size +0 | sort)
    if [ -n "$reports" ]; then
        echo "FAIL $name: sanitizer or memcheck reports:"
        for r in $reports; do head -n 40 "$r" | sed 's/^/       /'; done
        fail=$((fail + 1)); crashed+=("$name")
    fi
    local res
    res=$(grep '^RESULT ' "$out" | tail -n 1)
    if [ -z "$res" ]; then
        echo "FAIL $name: exited $rc without a RESULT line"
        fail=$((fail + 1)); crashed+=("$name"); return
    fi
    set -- $res
    pass=$((pass + $2)); fail=$((fail + $3)); skip=$((skip + $4))
    if [ "$rc" -ne 0 ] && [ "$3" -eq 0 ]; then
        echo "FAIL $name: exit status $rc"; fail=$((fail + 1)); crashed+=("$name")
    fi
}

for t in "$BUILD"/tests/test_*; do
    [ -x "$t" ] || continue
    case $t in *.d|*.o) continue ;; esac
    start_one "$(basename "$t")" "${WRAP[@]}" "$t"
done
for t in tests/t_*.sh; do
    [ -f "$t" ] || continue
    n=$(basename "$t" .sh)
    if [ -n "${SHELL_TESTS:-}" ] && ! printf ' %s ' "$SHELL_TESTS" | grep -q " $n "; then
        echo "(skipped $n.sh in this pass: not in SHELL_TESTS)"; skip=$((skip + 1)); continue
    fi
    start_one "$n.sh" env BUILD="$BUILD" bash "$t"
done
flush all
[ ${#crashed[@]} -gt 0 ] && echo "crashed, failed to report or left reports: ${crashed[*]}"
[ "$skip" -gt 0 ] && echo "($skip skipped: see the 'skip' lines above)"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
