/* unit-limits.c: the library at its limits (issue 14): GSL errors are return codes, range lists and writers refuse what no reader takes. */
#include <gsl/gsl_errno.h>
#include <gsl/gsl_rng.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include "../lib/place.h"
#include "unit.h"

/* mz_tool_init turns GSL's error handler off: a GSL error (n = 0 for
 * gsl_rng_uniform_int) is a return value, not an abort. */
static void test_gsl_off(void)
{
    gsl_rng *r;
    mz_tool_init();
    r = gsl_rng_alloc(gsl_rng_mt19937);
    CHECK(r != NULL, "gsl_rng_alloc");
    CHECK(gsl_rng_uniform_int(r, 0) == 0, "gsl_rng_uniform_int(r, 0) returns (0) instead of aborting");
    gsl_rng_free(r);
    CHECK(gsl_set_error_handler_off() != NULL, "the handler was already off (the previous one is GSL's no-op)");
}

/* Ranges at the limits of int: no overflow, and a count checked before
 * anything is allocated. */
static void test_ranges_limits(void)
{
    int *v = NULL, n;
    n = mz_parse_ranges("0-2147483647", 0, INT_MAX, "--timeline-steps", &v);
    CHECK(n < 0 && strstr(mz_errmsg(), "--timeline-steps: 0-2147483647 lists 2147483648 values, more than 16777216"),
          "0-2147483647 refused before allocating: %s", mz_errmsg());
    n = mz_parse_ranges("2147483646-2147483647", 0, INT_MAX, "r", &v);
    CHECK(n == 2 && v[0] == 2147483646 && v[1] == 2147483647, "the two largest ints (got %d)", n);
    if (n > 0) free(v);
    n = mz_parse_ranges("0-100000000", 0, INT_MAX, "--timeline-steps", &v);
    CHECK(n < 0 && strstr(mz_errmsg(), "lists 100000001 values"), "0-100000000 refused: %s", mz_errmsg());
    /* many items of one value each: the count of the items, not their sum */
    {
        mz_buf b = {0};
        for (int i = 0; i < 1000; i++) mz_buf_printf(&b, "%s5-5", i ? "," : "");
        n = mz_parse_ranges(b.s, 0, 10, "r", &v);
        CHECK(n == 1 && v[0] == 5, "1000 times 5-5 is one value (got %d)", n);
        if (n > 0) free(v);
        mz_buf_free(&b);
    }
    /* every item counts against the limit, even when they overlap */
    {
        mz_buf b = {0};
        for (int i = 0; i < 2; i++) mz_buf_printf(&b, "%s0-9999999", i ? "," : "");
        n = mz_parse_ranges(b.s, 0, INT_MAX, "r", &v);
        CHECK(n < 0 && strstr(mz_errmsg(), "lists 20000000 values"), "two items of 10^7 refused: %s", mz_errmsg());
        mz_buf_free(&b);
    }
    n = mz_parse_ranges("-2147483648--2147483647", INT_MIN, INT_MAX, "r", &v);
    CHECK(n == 2 && v[0] == INT_MIN, "negative bounds (got %d: %s)", n, n < 0 ? mz_errmsg() : "");
    if (n > 0) free(v);
    n = mz_parse_ranges("0-99999999999999999999", 0, INT_MAX, "r", &v);
    CHECK(n < 0 && strstr(mz_errmsg(), "out of range"), "a bound past long: %s", mz_errmsg());
}

/* A writer refuses, before making any file, a header line its readers
 * would not read back, and records of 0 bytes (the end marker) or more
 * than MZ_MAX_RECORD. */
static void test_writer_refuses(void)
{
    static const char *const bad[] = {"@EOF\t3", "@XX\tends in a CR\r", "@", "no tag", "@EOF"};
    char dir[] = "/tmp/unit-limits.XXXXXX", path[64];
    mz_reader *r = mz_reader_open("test/place-tiny.mzt", MZ_KIND_TRACE);
    mz_writer *w;
    CHECK(r != NULL, "open test/place-tiny.mzt (%s)", r ? "" : mz_errmsg());
    if (!r || !mkdtemp(dir)) return;
    snprintf(path, sizeof path, "%s/out.mzt", dir);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        for (int text = 0; text < 2; text++) {
            mz_header h;
            mz_header_copy(&h, mz_reader_header(r));
            mz_header_add(&h, "%s", bad[i]);
            w = mz_writer_open(path, MZ_KIND_TRACE, &h, text, 0);
            CHECK(!w && strstr(mz_errmsg(), "a reader would not read it back") && access(path, F_OK) != 0,
                  "%s header line '%s' refused, no file (%s)", text ? "text" : "binary", bad[i], mz_errmsg());
            if (w) mz_writer_abort(w);
            mz_header_free(&h);
        }
    w = mz_writer_open(path, MZ_KIND_TRACE, mz_reader_header(r), 0, 0);
    CHECK(w != NULL, "the header as it is");
    if (w) {
        static uint8_t rec[16];
        CHECK(mz_writer_put(w, rec, 0) < 0 && strstr(mz_errmsg(), "record 1 of 0 bytes"), "an empty record (%s)",
              mz_errmsg());
        CHECK(mz_writer_put(w, rec, (size_t)MZ_MAX_RECORD + 1) < 0 && strstr(mz_errmsg(), "a record holds 1 to"),
              "a record past MZ_MAX_RECORD (%s)", mz_errmsg());
        mz_writer_abort(w);
    }
    CHECK(access(path, F_OK) != 0, "nothing left under the name");
    rmdir(dir);
    mz_reader_close(r);
}

int main(void)
{
    test_gsl_off();
    test_ranges_limits();
    test_writer_refuses();
    return unit_done();
}
