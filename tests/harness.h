/* harness.h - a tiny test harness: CHECK macros, a per-binary tally, and the closing line that
 * tests/run.sh sums ("RESULT <passed> <failed> <skipped>"). Include once per test binary. */
#ifndef DN_HARNESS_H
#define DN_HARNESS_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static int t_pass, t_fail, t_skip;
static const char *t_name = "";

#define TEST(name) static void name(void)
#define RUN(name)                                                                              \
    do {                                                                                       \
        int f0_ = t_fail;                                                                      \
        t_name = #name;                                                                        \
        name();                                                                                \
        if (t_fail == f0_) t_pass++;                                                           \
        printf("%s %s\n", t_fail == f0_ ? "ok  " : "FAIL", #name);                             \
    } while (0)
#define SKIP(why)                                                                              \
    do {                                                                                       \
        printf("skip %s: %s\n", t_name, why);                                                  \
        t_skip++;                                                                              \
        t_pass--;                                                                              \
        return;                                                                                \
    } while (0)
#define CHECK(cond)                                                                            \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            printf("  %s:%d: %s: CHECK(%s) failed\n", __FILE__, __LINE__, t_name, #cond);      \
            t_fail++;                                                                          \
            return;                                                                            \
        }                                                                                      \
    } while (0)
#define CHECK_NEAR(a, b, tol)                                                                  \
    do {                                                                                       \
        double a_ = (a), b_ = (b);                                                             \
        if (!(fabs(a_ - b_) <= (tol))) {                                                       \
            printf("  %s:%d: %s: %s = %.9g, %s = %.9g, tol %g\n", __FILE__, __LINE__, t_name,  \
                   #a, a_, #b, b_, (double)(tol));                                             \
            t_fail++;                                                                          \
            return;                                                                            \
        }                                                                                      \
    } while (0)
#define CHECK_OK(expr)                                                                         \
    do {                                                                                       \
        dn_status s_ = (expr);                                                                 \
        if (s_ != DN_OK) {                                                                     \
            printf("  %s:%d: %s: %s -> %s: %s\n", __FILE__, __LINE__, t_name, #expr,           \
                   dn_status_str(s_), dn_last_error());                                        \
            t_fail++;                                                                          \
            return;                                                                            \
        }                                                                                      \
    } while (0)
#define DONE()                                                                                 \
    do {                                                                                       \
        printf("RESULT %d %d %d\n", t_pass, t_fail, t_skip);                                   \
        return t_fail ? 1 : 0;                                                                 \
    } while (0)

#endif
