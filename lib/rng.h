/* rng.h: MT19937 inline, the same numbers as GSL's gsl_rng_mt19937.
 *
 * The trace generator draws several uniforms per token-layer; through GSL
 * each is an indirect call (gsl_rng_uniform -> type->get_double -> mt_get),
 * a third of mz-trace's time. This is the same generator (Matsumoto and
 * Nishimura's MT19937 with the 1998 initialisation GSL uses) as inline
 * functions, with GSL's seeding, its scaling to [0, 1) and its rejection
 * rule for integers below n, so that every trace keeps its exact draws.
 * unit-gen checks the three against GSL, seed by seed. */
#ifndef MZ_RNG_H
#define MZ_RNG_H

#include <stdint.h>

#define MZ_MT_N 624
#define MZ_MT_M 397

typedef struct {
    uint32_t mt[MZ_MT_N];
    int mti;
} mz_rng;

/* Seed as gsl_rng_set(r, seed) on gsl_rng_mt19937: the low 32 bits, 0 as 4357. */
static inline void mz_rng_set(mz_rng *r, unsigned long seed)
{
    uint32_t s = (uint32_t)(seed & 0xffffffffUL);
    if (s == 0) s = 4357;
    r->mt[0] = s;
    for (int i = 1; i < MZ_MT_N; i++) r->mt[i] = 1812433253u * (r->mt[i - 1] ^ (r->mt[i - 1] >> 30)) + (uint32_t)i;
    r->mti = MZ_MT_N;
}

/* Refill the state with the next 624 words (GSL's mt_get, all at once). */
static inline void mz_rng_refill(mz_rng *r)
{
    uint32_t *mt = r->mt, y;
    int kk;
#define MZ_MT_MIX(a, b) ((a & 0x80000000u) | (b & 0x7fffffffu))
#define MZ_MT_MAG(y) ((y & 1u) ? 0x9908b0dfu : 0u)
    for (kk = 0; kk < MZ_MT_N - MZ_MT_M; kk++) {
        y = MZ_MT_MIX(mt[kk], mt[kk + 1]);
        mt[kk] = mt[kk + MZ_MT_M] ^ (y >> 1) ^ MZ_MT_MAG(y);
    }
    for (; kk < MZ_MT_N - 1; kk++) {
        y = MZ_MT_MIX(mt[kk], mt[kk + 1]);
        mt[kk] = mt[kk + (MZ_MT_M - MZ_MT_N)] ^ (y >> 1) ^ MZ_MT_MAG(y);
    }
    y = MZ_MT_MIX(mt[MZ_MT_N - 1], mt[0]);
    mt[MZ_MT_N - 1] = mt[MZ_MT_M - 1] ^ (y >> 1) ^ MZ_MT_MAG(y);
#undef MZ_MT_MIX
#undef MZ_MT_MAG
    r->mti = 0;
}

/* The next 32-bit word (gsl_rng_get). */
static inline uint32_t mz_rng_get(mz_rng *r)
{
    uint32_t k;
    if (r->mti >= MZ_MT_N) mz_rng_refill(r);
    k = r->mt[r->mti++];
    k ^= k >> 11;
    k ^= (k << 7) & 0x9d2c5680u;
    k ^= (k << 15) & 0xefc60000u;
    k ^= k >> 18;
    return k;
}

/* A uniform double in [0, 1) (gsl_rng_uniform: the word over 2^32). */
static inline double mz_rng_uniform(mz_rng *r) { return mz_rng_get(r) / 4294967296.0; }

/* A uniform integer in [0, n), 0 < n <= 2^32 - 1 (gsl_rng_uniform_int:
 * the word over floor((2^32 - 1) / n), redrawn while the result is >= n). */
static inline unsigned long mz_rng_uniform_int(mz_rng *r, unsigned long n)
{
    unsigned long scale, k;
    if (n == 0) return 0; /* GSL's answer to an invalid n, without its error */
    scale = 0xffffffffUL / n;
    do k = mz_rng_get(r) / scale;
    while (k >= n);
    return k;
}

#endif
