/* model-sweep.c: sweep one wafer field over compiled schedules and check that the latency never rises (mz-model(7) section 6.2).
 * Usage: test/model-sweep TARGETS up|down FIELD V1 V2 ...
 *   TARGETS  a mz-cost --fit targets file (name schedule wafer reference target tolerance; targets may be '-')
 *   up       raising FIELD must never raise any row's latency (a rate, a width, an efficiency)
 *   down     raising FIELD must never lower any row's latency (a latency, a width taken away)
 * The values must rise. Prints one line per value (the field's value and every row's latency)
 * and "points:N rows:R" at the end; exits 1 on the first rise (naming the row, the two values
 * and the two latencies), on a latency that is not finite and positive, or on an error. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/place.h"

static int done(mz_fit *f, double *prev, int status)
{
    free(prev);
    mz_fit_free(f);
    return status;
}

int main(int argc, char **argv)
{
    mz_fit *f;
    double *prev, prev_v = 0;
    int up, n, points = 0;
    if (argc < 5 || (strcmp(argv[2], "up") != 0 && strcmp(argv[2], "down") != 0)) {
        fprintf(stderr, "Usage: model-sweep TARGETS up|down FIELD V1 V2 ...\n");
        return 2;
    }
    up = strcmp(argv[2], "up") == 0;
    if (!(f = mz_fit_load(argv[1], NULL, 0))) {
        fprintf(stderr, "model-sweep: %s\n", mz_errmsg());
        return 1;
    }
    n = mz_fit_rows(f);
    prev = calloc(n, sizeof *prev);
    for (int a = 4; a < argc; a++) {
        char *end;
        double v = strtod(argv[a], &end);
        if (*end || end == argv[a]) {
            fprintf(stderr, "model-sweep: '%s' is not a number\n", argv[a]);
            return done(f, prev, 2);
        }
        if (a > 4 && !(v > prev_v)) {
            fprintf(stderr, "model-sweep: the values must rise (%g after %g)\n", v, prev_v);
            return done(f, prev, 2);
        }
        if (mz_fit_set(f, argv[3], v) < 0 || mz_fit_evaluate(f) < 0) {
            fprintf(stderr, "model-sweep: %s=%g: %s\n", argv[3], v, mz_errmsg());
            return done(f, prev, 1);
        }
        printf("%s=%.9g", argv[3], v);
        for (int i = 0; i < n; i++) {
            double t = mz_fit_row_latency(f, i);
            printf("\t%.9g", t);
            if (!isfinite(t) || !(t > 0)) {
                printf("\n");
                fprintf(stderr, "model-sweep: %s at %s=%g: latency %g is not finite and positive\n",
                        mz_fit_row_name(f, i), argv[3], v, t);
                return done(f, prev, 1);
            }
            if (a > 4 && (up ? t > prev[i] : t < prev[i])) {
                printf("\n");
                fprintf(stderr, "model-sweep: %s: %s %g -> %g %s the latency: %.9g -> %.9g s\n",
                        mz_fit_row_name(f, i), argv[3], prev_v, v, up ? "raises" : "lowers", prev[i], t);
                return done(f, prev, 1);
            }
            prev[i] = t;
        }
        printf("\n");
        prev_v = v;
        points++;
    }
    printf("points:%d rows:%d\n", points, n);
    return done(f, prev, 0);
}
