#!/usr/bin/env bash
# valgrind.sh - valgrind memcheck (`make valgrind`: BUILD=build-vg*, -O2 -g without
# -march=native) over every C unit test binary, every fuzz target's replay of its seeds and
# regressions, and the malformed-input table (tests/t_bad_input.sh with each darknet run under
# memcheck). Invalid reads/writes, uses of uninitialised values, invalid frees and definite or
# indirect leaks make memcheck exit 99, which fails the row. Ends with "RESULT p f s" and
# "valgrind: N passed, N failed". VALGRIND_TESTS="test_image test_options ..." picks the unit
# tests (CI runs the quick ones); by default all but test_winograd, whose random shapes take more
# than 5 minutes under memcheck (its buffers are checked by the ASan + UBSan pass).
# VALGRIND_BAD_INPUT=0 leaves out the malformed-input table.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build-vg}
pass=0; fail=0; skip=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
VG=(valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect
    --errors-for-leak-kinds=definite,indirect --track-origins=no)
finish() { echo "RESULT $pass $fail $skip"; echo "valgrind: $pass passed, $fail failed, $skip skipped"; [ $fail -eq 0 ]; exit; }
if ! command -v valgrind >/dev/null; then
    echo "FAIL valgrind is not installed (scripts/setup.sh installs it)"; fail=1; finish
fi
row() { # description, command...
    local desc=$1; shift
    local t0=$SECONDS
    "${VG[@]}" "$@" >"$tmp/out" 2>"$tmp/err"; local rc=$?
    if [ $rc -eq 0 ]; then
        echo "ok   $desc ($((SECONDS - t0)) s)"; pass=$((pass + 1))
    else
        echo "FAIL $desc: exit $rc"; grep -E '^==[0-9]+==' "$tmp/err" | head -n 25 | sed 's/^/       /'
        grep -E '^(FAIL|  )' "$tmp/out" | head -n 5 | sed 's/^/       /'
        fail=$((fail + 1))
    fi
}
for t in "$BUILD"/tests/test_*; do
    [ -x "$t" ] || continue
    case $t in *.d|*.o) continue ;; esac
    n=$(basename "$t")
    if [ -n "${VALGRIND_TESTS:-}" ]; then
        printf ' %s ' "$VALGRIND_TESTS" | grep -q " $n " || { echo "skip $n: not in VALGRIND_TESTS"; skip=$((skip + 1)); continue; }
    elif [ "$n" = test_winograd ]; then
        echo "skip test_winograd: over 5 minutes under memcheck (checked by the ASan pass)"; skip=$((skip + 1)); continue
    fi
    row "memcheck $n" "$t" --no-timing
done
for src in tests/fuzz/fuzz_*.c; do
    n=$(basename "$src" .c); n=${n#fuzz_}
    dirs=(tests/fuzz/seeds/$n)
    [ -d tests/fuzz/regress/$n ] && dirs+=(tests/fuzz/regress/$n) # git keeps no empty folder
    row "memcheck fuzz replay $n" "$BUILD/tests/fuzz/replay_$n" "${dirs[@]}"
done
# the malformed-input table with every darknet run under memcheck
[ "${VALGRIND_BAD_INPUT:-1}" = 0 ] && { echo "skip memcheck t_bad_input: VALGRIND_BAD_INPUT=0"; skip=$((skip + 1)); finish; }
cat >"$tmp/darknet" <<WRAP
#!/usr/bin/env bash
exec ${VG[*]} $PWD/$BUILD/darknet "\$@"
WRAP
chmod +x "$tmp/darknet"
t0=$SECONDS
out=$(BAD_INPUT_TIMEOUT=${BAD_INPUT_TIMEOUT:-60} DARKNET="$tmp/darknet" BUILD="$BUILD" bash tests/t_bad_input.sh 2>&1); rc=$?
res=$(printf '%s\n' "$out" | grep '^RESULT ' | tail -n 1)
if [ $rc -eq 0 ] && [ -n "$res" ]; then
    echo "ok   memcheck t_bad_input: every row clean ($(echo "$res" | cut -d' ' -f2) rows, $((SECONDS - t0)) s)"; pass=$((pass + 1))
else
    echo "FAIL memcheck t_bad_input (exit $rc, ${res:-no RESULT line}):"
    printf '%s\n' "$out" | grep -A 6 '^FAIL' | head -n 40 | sed 's/^/       /'
    fail=$((fail + 1))
fi
finish
