#!/usr/bin/env bash
# run.sh - runs every test binary in $BUILD/tests and every tests/t_*.sh script, sums their
# "RESULT passed failed skipped" lines and prints the closing "N passed, N failed" line.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
pass=0; fail=0; skip=0; crashed=()
run_one() {
    local name=$1; shift
    echo "== $name"
    local out rc
    out=$("$@" 2>&1); rc=$?
    printf '%s\n' "$out" | grep -v '^RESULT '
    local res
    res=$(printf '%s\n' "$out" | grep '^RESULT ' | tail -n 1)
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
    run_one "$(basename "$t")" "$t"
done
for t in tests/t_*.sh; do
    [ -f "$t" ] || continue
    # SHELL_TESTS="t_bad_input t_gradcampp" runs only those shell tests (the sanitizer pass)
    if [ -n "${SHELL_TESTS:-}" ] && ! printf ' %s ' "$SHELL_TESTS" | grep -q " $(basename "$t" .sh) "; then
        echo "(skipped $(basename "$t") in this pass: not in SHELL_TESTS)"; skip=$((skip + 1)); continue
    fi
    run_one "$(basename "$t")" env BUILD="$BUILD" bash "$t"
done
[ ${#crashed[@]} -gt 0 ] && echo "crashed or failed to report: ${crashed[*]}"
[ "$skip" -gt 0 ] && echo "($skip skipped: see the 'skip' lines above)"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
