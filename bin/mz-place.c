/* mz-place: place each MoE layer's experts onto chiplets and pass the trace on with the placement. */
#include <stdlib.h>
#include <string.h>

#include "../lib/opt.h"

static const char *prog = "mz-place";

#define USAGE                                                                                            \
    "Usage: mz-place [-a ALGO] [-c CHIPLETS] [-g GROUPS] [--profile STEPS] [--replicas N] [-r REPORT]\n" \
    "                [-W FILE | -R FILE] [--format F] [-w WAFER]... [-S KEY=VALUE]... [--latency-report FILE]\n" \
    "                [--max-load X] [-u | -t] [-o FILE] [TRACE]\n"
#define ABOUT                                                                                   \
    "Place each MoE layer's routed experts onto the expert chiplets of a wafer and write\n"      \
    "the trace on with the placement in its header (@PT, @PL, @PA). An existing placement\n"     \
    "is replaced. TRACE is binary or text, gzip or plain; '-' or nothing reads stdin.\n\n"

static mz_place_run_opts o; /* static: given() marks -a, -c and -g given (they exclude -R, override its topology) */

static int given(const char *arg, void *var)
{
    if (var == &o.algorithm && strcmp(arg, "latency") && mz_place_algorithm_parse(arg) < 0) {
        mz_error("--algorithm: unknown algorithm '%s'", arg);
        return -1;
    }
    *(var == &o.algorithm ? &o.algorithm_given : var == &o.chiplets ? &o.chiplets_given : &o.groups_given) = 1;
    return 0;
}

static int parse_format(const char *arg, void *var)
{
    if ((*(int *)var = mz_placemap_format_parse(arg)) < 0) mz_error("--format: '%s' is not tsv, vllm, sglang or eplb", arg);
    return *(int *)var < 0 ? -1 : 0;
}

int main(int argc, char **argv)
{
    const char *out_path = "-";
    int first, ret;
    const mz_opt opts[] = {
        {'a', "algorithm", MZ_OPT_STR, "NAME", &o.algorithm, 0, 0, "contiguous, round-robin, random, balanced, mozart,\n"
         "ctswap, eplb (DeepSeek EPLB's packing and replication)\nor latency (the fastest Mozart-C step of its candidates\n"
         "on the wafer of -w)", NULL, given, NULL},
        MZ_OPT_INT_CHECK('c', "chiplets", "N", &o.chiplets, 1, 65536, "expert chiplets", given),
        MZ_OPT_INT_CHECK('g', "groups", "N", &o.groups, 1, 65536, "switch groups; chiplet c is in group c*N/CHIPLETS", given),
        MZ_OPT_INT_D(0, "profile", "N", &o.profile, 1, 0x7fffffff, "profile on the first N steps, evaluate on the rest", "all"),
        MZ_OPT_ULONG('s', "seed", "N", &o.seed, 0, 0xffffffffL, "seed of 'random' and of ctswap's token sample"),
        MZ_OPT_INT(0, "sample", "N", &o.sample, 1, 1 << 26, "profiled tokens ctswap evaluates C_T on (a seeded\n"
                   "uniform sample when there are more)"),
        MZ_OPT_INT(0, "kicks", "N", &o.kicks, 0, 0x7fffffff, "ctswap: iterated local search rounds per layer"),
        MZ_OPT_INT(0, "alloc-nodes", "N", &o.alloc_nodes, 0, 0x7fffffff, "node budget of the exact group allocation (Eq. 5) per\n"
                   "layer, in 4-group nodes (N*16/G^2 nodes above 4 groups);\npast it the best found is kept, its gap reported"),
        {0, "max-load", MZ_OPT_DOUBLE, "X", &o.max_load, 1, 65536, "no chiplet above X (>= 1) times the layer's mean chiplet\n"
         "load (mozart, ctswap, balanced, latency)", "no cap", NULL, NULL},
        MZ_OPT_INT(0, "replicas", "N", &o.replicas, 0, 65535, "up to N extra copies per layer of the hottest experts\n"
                   "(eplb: N redundant slots), where the wafer's SRAM and\nDRAM hold them; tokens split between copies in turn"),
        MZ_OPT_LIST('w', "wafer", "NAME|FILE", &o.wafers, &o.n_wafers, "the wafer -a latency times its candidates on and whose\n"
                    "capacity --replicas respects (repeat to layer files,\nas mz-cost -w)"),
        MZ_OPT_LIST('S', "set", "KEY=VALUE", &o.sets, &o.n_sets, "override a field of that wafer (repeatable)"),
        MZ_OPT_STR(0, "latency-report", "FILE", &o.latency_report, "latency: each candidate's modelled step latency and\n"
                   "proxies (TSV)"),
        MZ_OPT_STR('r', "report", "FILE", &o.report, "write C_T and balance per layer (TSV)"),
        MZ_OPT_STR('W', "write-placement", "FILE", &o.write_placement, "save the placement (TSV: layer expert chiplet group)"),
        MZ_OPT_STR('R', "read-placement", "FILE", &o.read_placement, "apply a saved placement instead of computing one"),
        MZ_OPT_PARSE(0, "format", "F", &o.format, parse_format, "the -R/-W file's format: tsv, vllm (expert_to_ep_rank),\n"
                     "sglang (physical_to_logical_map) or eplb (phy2log)\n[-R: by content; -W: tsv]. Replicas are read, written\n"
                     "(but in vllm) and costed (mz-place(1))", NULL),
        MZ_OPT_STREAM_OUTPUT(&out_path, "output trace", &o.level, &o.text),
        MZ_OPT_TABLE_END};
    const mz_opt_tool tool = {prog, USAGE, ABOUT, opts, NULL, 27};

    mz_tool_init();
    mz_place_run_opts_init(&o);
    o.prog = prog, o.argc = argc, o.argv = argv, o.warn = stderr;
    first = mz_opt_parse(&tool, argc, argv);
    if (argc - first > 1) mz_opt_usage_error(&tool, "one input trace at most");
    if (mz_place_run_check(&o) < 0) mz_opt_usage_error(&tool, "%s", mz_errmsg());
    if ((ret = mz_place_run(&o, first < argc ? argv[first] : "-", out_path)) < 0) mz_perror(prog);
    free(o.wafers), free(o.sets);
    return ret < 0 ? MZ_EXIT_DATA : MZ_EXIT_OK;
}
