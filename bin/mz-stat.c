/* mz-stat: measure a routing trace: load skew, co-activation, sequence sharing, layer affinity, C_T. */
#include "../lib/mz.h"
#include "../lib/opt.h"

static const char *prog = "mz-stat";

#define USAGE "Usage: mz-stat [-c CHIPLETS | -e EXPERTS] [--loads FILE] [--coact FILE] [-o FILE] [FILE]\n"
#define ABOUT                                                                                    \
    "Measure a routing trace: one TSV row per traced MoE layer and an 'all' row with the\n"      \
    "load skew, co-activation concentration, sequence sharing, adjacent-layer mutual\n"          \
    "information and C_T (copies per token in dispatch). FILE is any trace; '-' or\n"            \
    "nothing reads standard input. Column definitions: man mz-stat.\n"                           \
    "\n"

/* -e shows no default (0 means "not given") */
static int parse_per_chiplet(const char *arg, void *var)
{
    long l;
    if (mz_parse_long(arg, 1, 65536, "--experts-per-chiplet", &l) < 0) return -1;
    *(int *)var = (int)l;
    return 0;
}

int main(int argc, char **argv)
{
    const char *in_path = "-", *out_path = "-";
    int first;
    mz_stat_run_opts o;
    const mz_opt opts[] = {
        MZ_OPT_INT_D('c', "chiplets", "N", &o.chiplets, 1, 65536, "contiguous layout over N chiplets",
                     "16, or one per expert"),
        MZ_OPT_PARSE('e', "experts-per-chiplet", "N", &o.per_chiplet, parse_per_chiplet,
                     "contiguous layout, N experts per chiplet", NULL),
        MZ_OPT_STR(0, "loads", "FILE", &o.loads_path, "write the per-layer load vectors (layer expert count share)"),
        MZ_OPT_STR(0, "coact", "FILE", &o.coact_path, "write the per-layer co-activation pairs (layer i j count)"),
        MZ_OPT_OUTPUT(&out_path, "output file"),
        MZ_OPT_TABLE_END};
    const mz_opt_tool tool = {prog, USAGE, ABOUT, opts, NULL, 31};

    mz_stat_run_opts_init(&o);
    mz_tool_init();
    first = mz_opt_parse(&tool, argc, argv);
    if (argc - first > 1) mz_opt_usage_error(&tool, "one input file at most");
    if (first < argc) in_path = argv[first];
    if (o.chiplets && o.per_chiplet) mz_opt_usage_error(&tool, "-c and -e exclude each other");

    if (mz_stat_run(&o, in_path, out_path) < 0) mz_die(prog, "%s", mz_errmsg());
    return MZ_EXIT_OK;
}
