# lib.sh - sourced by every tests/t_*.sh: moves to the repository root and sets
#   BUILD   the build folder (default build)
#   DK      the darknet to test: $DARKNET (absolute; tests/valgrind.sh points it at a memcheck
#           wrapper, the sanitizer pass at the ASan build) or ./darknet
#   WRAP    a command prefix for the test's own C tools and replays ($TEST_WRAP: memcheck)
#   QUICK   1 when TEST_QUICK=1 (the valgrind pass): the slow tests shrink their workloads
#   SHARED  ../shared, the team's pretrained models and datasets (a path that does not exist
#           under TEST_QUICK=1: the real-model checks are left to the other passes)
#   tmp     a scratch folder removed on exit
# and the counters pass/fail/skip with ok/bad/sk, expect, clean and finish, whose
# "RESULT pass fail skip" line tests/run.sh sums.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
DK=${DARKNET:-./darknet}
[[ "$DK" == /* ]] || DK=$PWD/${DK#./}
read -r -a WRAP <<< "${TEST_WRAP:-}"
QUICK=${TEST_QUICK:-0}
SHARED=../shared
[ "$QUICK" = 1 ] && SHARED=../shared-not-used-by-quick-runs
pass=0; fail=0; skip=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
ok()  { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1${2:+: $2}"; fail=$((fail + 1)); }
sk()  { echo "skip $1${2:+: $2}"; skip=$((skip + 1)); }
finish() { echo "RESULT $pass $fail $skip"; [ "$fail" -eq 0 ]; exit; }
# clean FILE: no crash report in a captured stderr
clean() { ! grep -qE 'Sanitizer|runtime error|Segmentation fault|core dumped' "$1"; }
# expect NAME STATUS COMMAND...: the command exits with STATUS and its stderr has no crash
# report; a command running past $EXPECT_TIMEOUT seconds (default 300) is a hang
expect() {
    local name=$1 want=$2; shift 2
    timeout "${EXPECT_TIMEOUT:-300}" "$@" >"$tmp/out" 2>"$tmp/err"; local rc=$?
    if [ "$rc" -eq "$want" ] && clean "$tmp/err"; then ok "$name"
    else bad "$name" "exit $rc (want $want): $(tail -2 "$tmp/err")"; fi
}
