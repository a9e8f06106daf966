/* unit-util.c: unit tests of lib/util.c's error protocol (prefix, suffix, the cut at the buffer). */
#include <stdlib.h>

#include "../lib/mz.h"
#include "unit.h"

static void test_errors(void)
{
    char big[2000];
    mz_error("bad value '%s'", "x");
    mz_error_prefix("%s: line %d", "f.tsv", 3);
    CHECK(strcmp(mz_errmsg(), "f.tsv: line 3: bad value 'x'") == 0, "prefix: '%s'", mz_errmsg());
    mz_error_suffix(" (in record %d)", 7);
    CHECK(strcmp(mz_errmsg(), "f.tsv: line 3: bad value 'x' (in record 7)") == 0, "suffix: '%s'", mz_errmsg());
    /* a prefix may quote the message itself */
    mz_error("inner");
    mz_error_prefix("%s", mz_errmsg());
    CHECK(strcmp(mz_errmsg(), "inner: inner") == 0, "a prefix of the message itself: '%s'", mz_errmsg());
    /* cut at 1023 bytes, as one snprintf into the buffer would cut it */
    memset(big, 'p', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    mz_error("tail");
    mz_error_prefix("%s", big);
    CHECK(strlen(mz_errmsg()) == 1023 && mz_errmsg()[1022] == 'p', "a long prefix is cut at 1023 bytes (%zu)",
          strlen(mz_errmsg()));
    mz_error("%.1000s", big);
    mz_error_prefix("abcdefghijklmnopqrstuvwxyz");
    CHECK(strlen(mz_errmsg()) == 1023 && strncmp(mz_errmsg(), "abcdefghijklmnopqrstuvwxyz: ppp", 31) == 0,
          "a long message keeps its prefix and is cut at its end");
}

int main(void)
{
    test_errors();
    return unit_done();
}
