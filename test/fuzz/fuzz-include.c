/* fuzz-include.c: libFuzzer harness of wafer include graphs: files including each other (fan-out, cycles, depth, paths) load in bounded work. */
#include <time.h>

#include "fuzz.h"

#ifndef MZ_FUZZ_MODELS
#define MZ_FUZZ_MODELS "models"
#endif

/* The input is one of two forms.
 *   Text: up to 8 files f0.wafer ... f7.wafer separated by lines "--"
 *   (mz-cost -w DIR/f0.wafer); "@DIR@" in a file becomes the harness's
 *   directory, for absolute includes.
 *   Graph (first byte 'G'): then byte pairs (a, b), each adding to file a % 8
 *   the line "include X" where X names file b % 8 as b / 8 % 4 says: bare
 *   "fN.wafer", "./fN.wafer", absolute, or a catalogue file (b % 3: ssd,
 *   calibrated.wafer, mesh); every file ends with a field of its own.
 * Checks: at most 256 files are loaded whatever the graph (includes of
 * includes counted), the load ends within 10 s (256 loads take 0.03 s in
 * the plain build, about 1.5 s under ASan on a loaded machine: each opens
 * a 256 KiB reader), and a failure has a message that names a wafer file. */
#define NFILES 8

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Append text to b with every "@DIR@" replaced by the harness directory. */
static void put_expanded(mz_buf *b, const char *s, size_t n)
{
    const char *dir = fuzz_tmpdir();
    for (size_t i = 0; i < n;) {
        if (n - i >= 5 && memcmp(s + i, "@DIR@", 5) == 0) {
            mz_buf_puts(b, dir);
            i += 5;
        } else {
            mz_buf_put(b, s + i, 1);
            i++;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[NFILES] = {"f0.wafer", "f1.wafer", "f2.wafer", "f3.wafer",
                                              "f4.wafer", "f5.wafer", "f6.wafer", "f7.wafer"};
    static const char *const catalogue[] = {"ssd", "calibrated.wafer", "mesh"};
    static const char *const fields[] = {"[memory]\nbandwidth_GBps = 100\n", "[links]\nhop_latency_ns = 5\n",
                                         "[compute]\nclock_GHz = 1\n", "[sram]\ntile_MB = 2\n"};
    mz_buf file[NFILES] = {{0}};
    const char *path;
    mz_wafer w;
    double t0;
    int ret;
    fuzz_reset();
    setenv("MZ_MODELS", MZ_FUZZ_MODELS, 1);
    if (size > 0 && data[0] == 'G') {
        for (size_t i = 1; i + 1 < size; i += 2) {
            int a = data[i] % NFILES, b = data[i + 1] % NFILES, how = data[i + 1] / 8 % 4;
            mz_buf *f = &file[a];
            if (how == 0) mz_buf_printf(f, "include %s\n", names[b]);
            else if (how == 1) mz_buf_printf(f, "include ./%s\n", names[b]);
            else if (how == 2) mz_buf_printf(f, "include %s/%s\n", fuzz_tmpdir(), names[b]);
            else mz_buf_printf(f, "include %s\n", catalogue[data[i + 1] % 3]);
        }
        for (int k = 0; k < NFILES; k++) mz_buf_puts(&file[k], fields[k % 4]);
    } else {
        const uint8_t *p = data, *end = data + size;
        for (int k = 0; k < NFILES && p < end; k++) {
            const uint8_t *q = p;
            while (q < end && !(end - q >= 4 && memcmp(q, "\n--\n", 4) == 0)) q++;
            put_expanded(&file[k], (const char *)p, (size_t)(q - p) + (q < end));
            p = q < end ? q + 4 : end;
        }
    }
    for (int k = 0; k < NFILES; k++) fuzz_file(names[k], file[k].s ? file[k].s : "", file[k].n);
    path = fuzz_path(names[0]);
    mz_wafer_init(&w);
    t0 = now();
    ret = mz_wafer_load(&w, path);
    FUZZ_CHECK(now() - t0 < 10.0, "loading the include graph took %.1f s (%d files)", now() - t0, w.n_layers);
    FUZZ_CHECK(w.n_layers <= 256, "%d files loaded for one wafer", w.n_layers);
    if (ret < 0) {
        FUZZ_CHECK(strstr(mz_errmsg(), "wafer") || strstr(mz_errmsg(), "f0"), "the error names no wafer file");
    } else {
        mz_wafer_finish(&w); /* the layers may or may not make a whole wafer */
    }
    mz_wafer_free(&w);
    for (int k = 0; k < NFILES; k++) mz_buf_free(&file[k]);
    return 0;
}
