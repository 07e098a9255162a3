#!/usr/bin/env bash
# valgrind.sh - the whole test suite under valgrind memcheck (`make valgrind`: BUILD=build-vg*,
# -O2 -g without -march=native, whose AVX-512 valgrind cannot run). tests/run.sh runs every C
# unit test under memcheck (TEST_WRAP) and every shell test with DARKNET pointing at a memcheck
# wrapper, so every darknet run of the suite (and every fuzz replay) is checked. Invalid
# reads/writes, uses of uninitialised values, invalid frees and definite or indirect leaks go to
# the test's report folder (run.sh fails a test that leaves one) and make the process exit 99.
# Memcheck is ~30-50x slower, so the suite runs with TEST_QUICK=1 (the slow tests shrink their
# workloads: fewer shapes, images, frames and batches, the quick conformance set) and
# TEST_JOBS=2 (memcheck runs one thread at a time). libjpeg-turbo's SIMD decoder is switched off
# (JSIMD_FORCENONE=1): memcheck cannot follow its vector code and reports the decoded pixels of
# some JPEGs (Darknet's horses.jpg) as uninitialised, a false positive libjpeg-turbo's maintainer
# describes in libjpeg-turbo issue 238. Ends with run.sh's "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build-vg}
if ! command -v valgrind >/dev/null; then
    echo "FAIL valgrind is not installed (scripts/setup.sh installs it)"
    echo "0 passed, 1 failed, 0 skipped"; exit 1
fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/vg" <<'WRAP'
#!/usr/bin/env bash
log=(); [ -n "${TEST_LOGS:-}" ] && log=(--log-file="$TEST_LOGS/vg.%p")
exec valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect \
    --errors-for-leak-kinds=definite,indirect --track-origins=no "${log[@]}" "$@"
WRAP
printf '#!/usr/bin/env bash\nexec %q %q "$@"\n' "$tmp/vg" "$PWD/$BUILD/darknet" > "$tmp/darknet"
chmod +x "$tmp/vg" "$tmp/darknet"
JSIMD_FORCENONE=1 TEST_WRAP="$tmp/vg" DARKNET="$tmp/darknet" TEST_QUICK=1 TEST_JOBS=${TEST_JOBS:-2} \
    BAD_INPUT_TIMEOUT=${BAD_INPUT_TIMEOUT:-120} EXPECT_TIMEOUT=${EXPECT_TIMEOUT:-900} \
    BUILD="$BUILD" bash tests/run.sh
