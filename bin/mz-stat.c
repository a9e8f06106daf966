/* mz-stat: measure a routing trace: load skew, co-activation, sequence sharing, layer affinity, C_T. */
#include <stdlib.h>
#include <string.h>

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

/* Abort every open output and exit with the current error message. */
static void fail(mz_out **outs, int n)
{
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", mz_errmsg());
    for (int i = 0; i < n; i++)
        if (outs[i]) mz_out_abort(outs[i]);
    mz_die(prog, "%s", msg);
}

int main(int argc, char **argv)
{
    const char *in_path = "-", *out_path = "-", *loads_path = NULL, *coact_path = NULL;
    int chiplets = 0, per_chiplet = 0, first, ret, has_placement;
    mz_trace_reader tr;
    mz_placement pl;
    mz_stat *s;
    mz_out *outs[3] = {NULL, NULL, NULL}; /* table, loads, coact */

    const mz_opt opts[] = {
        MZ_OPT_INT_D('c', "chiplets", "N", &chiplets, 1, 65536, "contiguous layout over N chiplets",
                     "16, or one per expert"),
        MZ_OPT_PARSE('e', "experts-per-chiplet", "N", &per_chiplet, parse_per_chiplet,
                     "contiguous layout, N experts per chiplet", NULL),
        MZ_OPT_STR(0, "loads", "FILE", &loads_path, "write the per-layer load vectors (layer expert count share)"),
        MZ_OPT_STR(0, "coact", "FILE", &coact_path, "write the per-layer co-activation pairs (layer i j count)"),
        MZ_OPT_OUTPUT(&out_path, "output file"),
        MZ_OPT_TABLE_END};
    const mz_opt_tool tool = {prog, USAGE, ABOUT, opts, NULL, 31};

    mz_tool_init();
    first = mz_opt_parse(&tool, argc, argv);
    if (argc - first > 1) mz_opt_usage_error(&tool, "one input file at most");
    if (first < argc) in_path = argv[first];
    if (chiplets && per_chiplet) mz_opt_usage_error(&tool, "-c and -e exclude each other");

    if (mz_trace_open(&tr, in_path) < 0) mz_die(prog, "%s", mz_errmsg());
    /* the default, 16 chiplets, cannot hold fewer experts: one expert per chiplet then */
    if (!chiplets && !per_chiplet) chiplets = tr.info.model.experts < 16 ? tr.info.model.experts : 16;
    if ((has_placement = mz_placement_from_header(mz_reader_header(tr.r), &tr.info, &pl)) < 0)
        mz_die(prog, "%s: %s", in_path, mz_errmsg());
    if (!(s = mz_stat_new(&tr.info, chiplets, per_chiplet, has_placement ? &pl : NULL)))
        mz_die(prog, "%s", mz_errmsg());
    if (!(outs[0] = mz_out_open(out_path, 0))) fail(outs, 3);
    if (loads_path && !(outs[1] = mz_out_open(loads_path, 0))) fail(outs, 3);
    if (coact_path && !(outs[2] = mz_out_open(coact_path, 0))) fail(outs, 3);

    while ((ret = mz_trace_next(&tr)) > 0)
        if (mz_stat_add(s, &tr.tok) < 0) fail(outs, 3);
    if (ret < 0) fail(outs, 3);

    {
        char layers[8192];
        mz_out_printf(outs[0], "#mz-stat\tinput:%s\tmodel:%s\texperts:%d\ttopk:%d\tlayers:%s\n", in_path,
                      tr.info.model.name, tr.info.model.experts, tr.info.model.topk,
                      mz_format_ranges(tr.info.layers, tr.info.n_layers, layers, sizeof layers));
        if (per_chiplet)
            mz_out_printf(outs[0], "#layout:contiguous\tchiplets:%d\texperts_per_chiplet:%d", mz_stat_chiplets(s),
                          per_chiplet);
        else
            mz_out_printf(outs[0], "#layout:contiguous\tchiplets:%d", chiplets);
        mz_out_printf(outs[0], "\tplacement:%s\n", has_placement ? pl.algorithm : "none");
    }
    if (mz_stat_write(s, outs[0]) < 0) fail(outs, 3);
    if (outs[1] && mz_stat_write_loads(s, outs[1]) < 0) fail(outs, 3);
    if (outs[2] && mz_stat_write_coact(s, outs[2]) < 0) fail(outs, 3);
    for (int i = 0; i < 3; i++)
        if (outs[i]) {
            mz_out *o = outs[i];
            outs[i] = NULL;
            if (mz_out_close(o) < 0) fail(outs, 3);
        }
    if (mz_trace_close(&tr) < 0) mz_die(prog, "%s", mz_errmsg());
    if (has_placement) mz_placement_free(&pl);
    mz_stat_free(s);
    return MZ_EXIT_OK;
}
