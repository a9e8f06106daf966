/* fuzz-costset.c: libFuzzer harness of mz-cost's -s KEY=VALUE overrides (issue 14): every line is one override. */
#include <math.h>

#include "fuzz.h"

/* The Qwen3 design (fuzz_qwen3_wafer) without multicast and with a spill
 * tier of 8 GB/s, so that memories over capacity are timed on it. Each
 * input's lines are -S overrides on top; the wafer is either refused with a
 * message or times the seed schedules (Qwen3-shaped tiny streaming and
 * Baseline, and a Mixtral Baseline) with finite, non-negative numbers in
 * every table mz-cost writes. */
#ifndef MZ_FUZZ_SEEDS
#define MZ_FUZZ_SEEDS "test/fuzz/seeds"
#endif
static const char *const schedules[] = {MZ_FUZZ_SEEDS "/sched/C.mzs", MZ_FUZZ_SEEDS "/sched/cost-tiny-baseline.mzs",
                                        MZ_FUZZ_SEEDS "/sched/mixtral-baseline.mzs"};

/* A table written by mz-cost, read back: no nan or inf anywhere in it. */
static void check_table(const char *path, const char *what)
{
    FILE *f = fopen(path, "r");
    char line[8192];
    FUZZ_CHECK(f != NULL, "%s", path);
    while (fgets(line, sizeof line, f)) {
        for (char *p = line; *p; p++) *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
        FUZZ_CHECK(!strstr(line, "nan") && !strstr(line, "inf"), "%s: %s", what, line);
    }
    fclose(f);
}

/* mz-cost's loop on one schedule: every step's latency finite and
 * non-negative, or an error message; then every table. */
static void cost_one(const mz_wafer *w, const char *path)
{
    mz_reader *r = mz_reader_open(path, MZ_KIND_SCHED);
    const char *tab = fuzz_path("tables.tsv");
    mz_cost *c;
    mz_out *out;
    mz_op op;
    const uint8_t *rec;
    size_t len;
    int ret, first = 1, failed = 0;
    double t0 = 0;
    FUZZ_CHECK(r != NULL, "the seed schedule %s", path);
    if (!(c = mz_cost_new(w, mz_reader_header(r)))) {
        FUZZ_CHECK(mz_errmsg()[0], "mz_cost_new failed without a message");
        mz_reader_close(r);
        return;
    }
    FUZZ_CHECK((out = mz_out_open(tab, 0)) != NULL, "%s", tab);
    memset(&op, 0, sizeof op);
    for (;;) {
        ret = mz_reader_next(r, &rec, &len);
        FUZZ_CHECK(ret >= 0, "the seed schedule %s: %s", path, mz_errmsg());
        if (ret > 0) FUZZ_CHECK(mz_op_decode(rec, len, &op) == 0, "%s", mz_errmsg());
        if ((ret == 0 || op.id == 0) && mz_cost_pending(c)) {
            mz_cost_row row;
            if (mz_cost_run(c, &row) < 0) {
                const char *m = mz_errmsg();
                FUZZ_CHECK(m[0] && !strstr(m, "nan") && !strstr(m, "inf"), "a refused step's message: '%s'", m);
                failed = 1;
                break;
            }
            FUZZ_CHECK(isfinite(row.latency_s) && row.latency_s >= 0, "latency %g", row.latency_s);
            mz_cost_write_breakdown(c, out, first);
            if (mz_cost_write_timeline(c, out, t0, &first) < 0) FUZZ_CHECK(mz_errmsg()[0], "timeline");
            t0 += row.latency_s;
        }
        if (ret == 0) break;
        FUZZ_CHECK(mz_cost_add(c, &op) == 0, "%s: %s", path, mz_errmsg());
    }
    if (!failed) {
        mz_cost_write_resources(c, out);
        mz_cost_write_footprint(c, out);
    }
    FUZZ_CHECK(mz_out_close(out) == 0, "%s", tab);
    if (!failed) check_table(tab, path);
    mz_cost_free(c);
    mz_op_free(&op);
    mz_reader_close(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mz_wafer w;
    char line[512];
    size_t i = 0;
    int bad = 0, n = 0;
    fuzz_reset();
    mz_wafer_init(&w);
    FUZZ_CHECK(fuzz_qwen3_wafer(&w) == 0 && mz_wafer_set(&w, "switch.multicast=0") == 0 &&
                   mz_wafer_set(&w, "spill.bandwidth_GBps=8") == 0,
               "built-in wafer");
    while (i < size && !bad && n < 64) {
        size_t k = 0;
        while (i < size && data[i] != '\n' && k < sizeof line - 1) line[k++] = (char)data[i++];
        while (i < size && data[i] != '\n') i++;
        i++;
        line[k] = '\0';
        if (!k || memchr(line, '\0', k)) continue;
        n++;
        if (mz_wafer_set(&w, line) < 0) {
            FUZZ_CHECK(mz_errmsg()[0], "a refused override without a message: '%s'", line);
            bad = 1;
        }
    }
    if (!bad && mz_wafer_finish(&w) < 0) {
        FUZZ_CHECK(mz_errmsg()[0], "a refused wafer without a message");
        bad = 1;
    }
    if (!bad)
        for (size_t s = 0; s < sizeof schedules / sizeof *schedules; s++) cost_one(&w, schedules[s]);
    mz_wafer_free(&w);
    return 0;
}
