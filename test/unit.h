/* unit.h: a tiny TAP harness for the C unit tests of lib/ (one program per library concern). */
#ifndef MZ_UNIT_H
#define MZ_UNIT_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static int unit_n, unit_failed;

/* One TAP line per check; the message says what was expected. */
#define CHECK(cond, ...)                                                    \
    do {                                                                    \
        int ok_ = (cond) != 0;                                              \
        unit_n++;                                                           \
        if (!ok_) unit_failed++;                                            \
        printf("%s %d - ", ok_ ? "ok" : "not ok", unit_n);                  \
        printf(__VA_ARGS__);                                                \
        printf("\n");                                                       \
        if (!ok_) printf("#   failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
    } while (0)

#define CHECK_NEAR(x, want, tol, what)                                      \
    CHECK(fabs((double)(x) - (double)(want)) <= (tol), "%s = %g (want %g +- %g)", what, \
          (double)(x), (double)(want), (double)(tol))

/* Write n bytes of text to path (a fixture); 0, or -1 when it cannot. */
static inline int unit_write(const char *path, const char *text, size_t n)
{
    FILE *fp = fopen(path, "w");
    size_t w;
    if (!fp) return -1;
    w = fwrite(text, 1, n, fp);
    return fclose(fp) == 0 && w == n ? 0 : -1;
}

/* Print the TAP plan and return the exit status. */
static inline int unit_done(void)
{
    printf("1..%d\n", unit_n);
    return unit_failed != 0;
}

#endif
