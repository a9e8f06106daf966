/* mz-stat: measure a routing trace: load skew, co-activation, sequence sharing, layer affinity, C_T. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/mz.h"

static const char *prog = "mz-stat";

static void usage(FILE *fp)
{
    fprintf(fp,
            "Usage: mz-stat [-c CHIPLETS | -e EXPERTS] [--loads FILE] [--coact FILE] [-o FILE] [FILE]\n"
            "Measure a routing trace: one TSV row per traced MoE layer and an 'all' row with the\n"
            "load skew, co-activation concentration, sequence sharing, adjacent-layer mutual\n"
            "information and C_T (copies per token in dispatch). FILE is any trace; '-' or\n"
            "nothing reads standard input. Column definitions: man mz-stat.\n"
            "\n"
            "  -c, --chiplets N             contiguous layout over N chiplets [16, or one per expert]\n"
            "  -e, --experts-per-chiplet N  contiguous layout, N experts per chiplet\n"
            "      --loads FILE             write the per-layer load vectors (layer expert count share)\n"
            "      --coact FILE             write the per-layer co-activation pairs (layer i j count)\n"
            "  -o, --output FILE            output file [-]\n"
            "  -h, --help                   show this help\n"
            "      --version                show the version\n");
}

static void usage_error(void)
{
    fprintf(stderr, "Usage: mz-stat [-c CHIPLETS | -e EXPERTS] [--loads FILE] [--coact FILE] [-o FILE] [FILE]\n"
                    "Try 'mz-stat --help' for more information.\n");
    exit(MZ_EXIT_USAGE);
}

enum { OPT_LOADS = 256, OPT_COACT, OPT_VERSION };

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
    static const struct option longopts[] = {
        {"chiplets", required_argument, NULL, 'c'}, {"experts-per-chiplet", required_argument, NULL, 'e'},
        {"loads", required_argument, NULL, OPT_LOADS}, {"coact", required_argument, NULL, OPT_COACT},
        {"output", required_argument, NULL, 'o'},   {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, OPT_VERSION}, {NULL, 0, NULL, 0}};
    const char *in_path = "-", *out_path = "-", *loads_path = NULL, *coact_path = NULL;
    long chiplets = 0, per_chiplet = 0;
    int c, ret, has_placement;
    mz_trace_reader tr;
    mz_placement pl;
    mz_stat *s;
    mz_out *outs[3] = {NULL, NULL, NULL}; /* table, loads, coact */

    mz_tool_init();
    while ((c = getopt_long(argc, argv, "c:e:o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            if (mz_parse_long(optarg, 1, 65536, "--chiplets", &chiplets) < 0) {
                mz_perror(prog);
                usage_error();
            }
            break;
        case 'e':
            if (mz_parse_long(optarg, 1, 65536, "--experts-per-chiplet", &per_chiplet) < 0) {
                mz_perror(prog);
                usage_error();
            }
            break;
        case OPT_LOADS: loads_path = optarg; break;
        case OPT_COACT: coact_path = optarg; break;
        case 'o': out_path = optarg; break;
        case 'h': usage(stdout); return mz_close_stdout() < 0 ? MZ_EXIT_DATA : MZ_EXIT_OK;
        case OPT_VERSION: mz_print_version(prog); return mz_close_stdout() < 0 ? MZ_EXIT_DATA : MZ_EXIT_OK;
        default: usage_error();
        }
    }
    if (argc - optind > 1) {
        fprintf(stderr, "%s: one input file at most\n", prog);
        usage_error();
    }
    if (optind < argc) in_path = argv[optind];
    if (chiplets && per_chiplet) {
        fprintf(stderr, "%s: -c and -e exclude each other\n", prog);
        usage_error();
    }

    if (mz_trace_open(&tr, in_path) < 0) mz_die(prog, "%s", mz_errmsg());
    /* the default, 16 chiplets, cannot hold fewer experts: one expert per chiplet then */
    if (!chiplets && !per_chiplet) chiplets = tr.info.model.experts < 16 ? tr.info.model.experts : 16;
    if ((has_placement = mz_placement_from_header(mz_reader_header(tr.r), &tr.info, &pl)) < 0)
        mz_die(prog, "%s: %s", in_path, mz_errmsg());
    if (!(s = mz_stat_new(&tr.info, (int)chiplets, (int)per_chiplet, has_placement ? &pl : NULL)))
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
            mz_out_printf(outs[0], "#layout:contiguous\tchiplets:%d\texperts_per_chiplet:%ld", mz_stat_chiplets(s),
                          per_chiplet);
        else
            mz_out_printf(outs[0], "#layout:contiguous\tchiplets:%ld", chiplets);
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
