/* unit-util.c: unit tests of lib/util.c's error protocol (prefix, suffix, the cut at the buffer). */
#include <stdlib.h>

#include "../lib/opt.h"
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

/* The option table: values set, lists grown, live defaults in --help. */
static void test_options(void)
{
    int n = 3, flag = 0, level = 1, n_sets = 0, first;
    double x = 0.5;
    const char *out = "-";
    char **sets = NULL, buf[2048] = "";
    char *argv[] = {"prog", "-n", "7", "--flag", "-S", "a=1", "-u", "--set", "b=2", "--x", "0.25", "in", NULL};
    const mz_opt opts[] = {
        MZ_OPT_INT('n', "number", "N", &n, 1, 10, "how many"),
        MZ_OPT_FLAG(0, "flag", &flag, "a flag\nover two lines"),
        MZ_OPT_LIST('S', "set", "KEY=VALUE", &sets, &n_sets, "repeatable"),
        MZ_OPT_SET('u', "uncompressed", &level, 0, "level 0"),
        MZ_OPT_DOUBLE(0, "x", "X", &x, 0, 1, "a share"),
        MZ_OPT_STR(0, "a-very-long-option-name", "FILE", &out, "own line\n"),
        MZ_OPT_OUTPUT(&out, "output"),
        MZ_OPT_TABLE_END};
    const mz_opt_tool tool = {"prog", "Usage: prog [options]\n", "About.\n\n", opts, "Tail.\n", 20};
    FILE *fp = tmpfile();
    mz_opt_help(&tool, fp);
    rewind(fp);
    buf[fread(buf, 1, sizeof buf - 1, fp)] = '\0';
    fclose(fp);
    CHECK(strcmp(buf, "Usage: prog [options]\nAbout.\n\n"
                      "  -n, --number N    how many [3]\n"
                      "      --flag        a flag\n"
                      "                    over two lines\n"
                      "  -S, --set KEY=VALUE  repeatable\n"
                      "  -u, --uncompressed  level 0\n"
                      "      --x X         a share [0.5]\n"
                      "      --a-very-long-option-name FILE  own line\n"
                      "                    [-]\n"
                      "  -o, --output FILE  output [-]\n"
                      "  -h, --help        show this help\n"
                      "      --version     show the version\n"
                      "Tail.\n") == 0,
          "--help: the table with live defaults:\n%s", buf);
    first = mz_opt_parse(&tool, 12, argv);
    CHECK(first == 11 && strcmp(argv[first], "in") == 0, "the first operand is argv[%d]", first);
    CHECK(n == 7 && flag == 1 && level == 0 && x == 0.25, "values: n %d, flag %d, level %d, x %g", n, flag, level, x);
    CHECK(n_sets == 2 && strcmp(sets[0], "a=1") == 0 && strcmp(sets[1], "b=2") == 0, "the list has %d items", n_sets);
    free(sets);
}

int main(void)
{
    test_errors();
    test_options();
    return unit_done();
}
