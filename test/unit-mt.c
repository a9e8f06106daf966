/* unit-mt.c: the generator's inlined Mersenne Twister (lib/gen.c) draws exactly GSL's gsl_rng_mt19937 numbers. */
#include "../lib/gen.c" /* mt19937 is static */

#include "unit.h"

int main(void)
{
    static const unsigned long seeds[] = {0, 1, 2, 42, 4357, 123456789, 4294967295UL};
    static const unsigned long ns[] = {1, 2, 3, 7, 16, 100, 1000003, 4294967295UL};
    for (size_t i = 0; i < sizeof seeds / sizeof *seeds; i++) {
        gsl_rng *ref = gsl_rng_alloc(gsl_rng_mt19937);
        mt19937 r;
        long bad = 0, draws = 0;
        gsl_rng_set(ref, seeds[i]);
        mt_seed(&r, seeds[i]);
        for (int j = 0; j < 200000; j++, draws++) {
            /* interleave the two kinds of draw, as the generator does */
            if (j % 3) {
                if (mt_uniform(&r) != gsl_rng_uniform(ref)) bad++;
            } else {
                unsigned long n = ns[(j / 3) % (sizeof ns / sizeof *ns)];
                if (mt_uniform_int(&r, n) != gsl_rng_uniform_int(ref, n)) bad++;
            }
        }
        CHECK(bad == 0, "seed %lu: %ld draws (uniform and uniform_int) equal GSL's mt19937, %ld differ", seeds[i], draws,
              bad);
        gsl_rng_free(ref);
    }
    return unit_done();
}
