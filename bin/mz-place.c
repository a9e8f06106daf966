/* mz-place: place each MoE layer's experts onto chiplets and pass the trace on with the placement. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/mz.h"

static const char *prog = "mz-place";

#define USAGE_LINE                                                                                       \
    "Usage: mz-place [-a ALGO] [-c CHIPLETS] [-g GROUPS] [--profile STEPS] [--replicas N] [-r REPORT]\n" \
    "                [-W FILE | -R FILE] [--format F] [-w WAFER]... [-S KEY=VALUE]... [--latency-report FILE]\n" \
    "                [-u | -t] [-o FILE] [TRACE]\n"

static void usage(FILE *fp)
{
    fprintf(fp,
            USAGE_LINE
            "Place each MoE layer's routed experts onto the expert chiplets of a wafer and write\n"
            "the trace on with the placement in its header (@PT, @PL, @PA). An existing placement\n"
            "is replaced. TRACE is binary or text, gzip or plain; '-' or nothing reads stdin.\n"
            "\n"
            "  -a, --algorithm NAME     contiguous, round-robin, random, balanced, mozart,\n"
            "                           ctswap, eplb (DeepSeek EPLB's packing and replication)\n"
            "                           or latency (the fastest Mozart-C step of its candidates\n"
            "                           on the wafer of -w) [mozart]\n"
            "  -c, --chiplets N         expert chiplets [16]\n"
            "  -g, --groups N           switch groups; chiplet c is in group c*N/CHIPLETS [4]\n"
            "      --profile N          profile on the first N steps, evaluate on the rest [all]\n"
            "  -s, --seed N             seed of 'random' and of ctswap's token sample [1]\n"
            "      --sample N           profiled tokens ctswap evaluates C_T on (a seeded\n"
            "                           uniform sample when there are more) [65536]\n"
            "      --kicks N            ctswap: iterated local search rounds per layer [0]\n"
            "      --alloc-nodes N      node budget of the exact group allocation (Eq. 5) per\n"
            "                           layer, in 4-group nodes (N*16/G^2 nodes above 4 groups);\n"
            "                           past it the best found is kept, its gap reported [100000]\n"
            "      --replicas N         up to N extra copies per layer of the hottest experts\n"
            "                           (eplb: N redundant slots), where the wafer's SRAM and\n"
            "                           DRAM hold them; tokens split between copies in turn [0]\n"
            "  -w, --wafer NAME|FILE    the wafer -a latency times its candidates on and whose\n"
            "                           capacity --replicas respects (repeat to layer files,\n"
            "                           as mz-cost -w)\n"
            "  -S, --set KEY=VALUE      override a field of that wafer (repeatable)\n"
            "      --latency-report FILE  latency: each candidate's modelled step latency and\n"
            "                           proxies (TSV)\n"
            "  -r, --report FILE        write C_T and balance per layer (TSV)\n"
            "  -W, --write-placement FILE  save the placement (TSV: layer expert chiplet group)\n"
            "  -R, --read-placement FILE   apply a saved placement instead of computing one\n"
            "      --format F           the -R/-W file's format: tsv, vllm (expert_to_ep_rank),\n"
            "                           sglang (physical_to_logical_map) or eplb (phy2log)\n"
            "                           [-R: by content; -W: tsv]. Replicas are read, written\n"
            "                           (but in vllm) and costed (mz-place(1))\n"
            "  -o, --output FILE        output trace [-]\n"
            "  -u, --uncompressed       binary without gzip (for pipes)\n"
            "  -t, --text               text form instead of binary\n"
            "      --level N            gzip level 1-9 [1]\n"
            "  -h, --help               show this help\n"
            "      --version            show the version\n");
}

static void usage_error(void)
{
    fprintf(stderr, USAGE_LINE "Try 'mz-place --help' for more information.\n");
    exit(MZ_EXIT_USAGE);
}

enum { OPT_PROFILE = 256, OPT_SAMPLE, OPT_NODES, OPT_KICKS, OPT_LEVEL, OPT_VERSION, OPT_FORMAT, OPT_LATREPORT, OPT_REPLICAS };

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"algorithm", required_argument, NULL, 'a'},
        {"chiplets", required_argument, NULL, 'c'},
        {"groups", required_argument, NULL, 'g'},
        {"profile", required_argument, NULL, OPT_PROFILE},
        {"seed", required_argument, NULL, 's'},
        {"sample", required_argument, NULL, OPT_SAMPLE},
        {"alloc-nodes", required_argument, NULL, OPT_NODES},
        {"kicks", required_argument, NULL, OPT_KICKS},
        {"report", required_argument, NULL, 'r'},
        {"write-placement", required_argument, NULL, 'W'},
        {"read-placement", required_argument, NULL, 'R'},
        {"output", required_argument, NULL, 'o'},
        {"uncompressed", no_argument, NULL, 'u'},
        {"text", no_argument, NULL, 't'},
        {"level", required_argument, NULL, OPT_LEVEL},
        {"format", required_argument, NULL, OPT_FORMAT},
        {"replicas", required_argument, NULL, OPT_REPLICAS},
        {"wafer", required_argument, NULL, 'w'},
        {"set", required_argument, NULL, 'S'},
        {"latency-report", required_argument, NULL, OPT_LATREPORT},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, OPT_VERSION},
        {NULL, 0, NULL, 0}};
    const char *in_path = "-", *out_path = "-";
    long v;
    int c, ret;
    mz_place_run_opts o;

    mz_tool_init();
    mz_place_run_opts_init(&o);
    o.prog = prog, o.argc = argc, o.argv = argv, o.warn = stderr;
    o.wafers = mz_malloc(argc * sizeof *o.wafers), o.sets = mz_malloc(argc * sizeof *o.sets);
    while ((c = getopt_long(argc, argv, "a:c:g:s:r:W:R:w:S:o:uth", longopts, NULL)) != -1) {
        switch (c) {
        case 'a':
            if (strcmp(optarg, "latency") && mz_place_algorithm_parse(optarg) < 0) {
                fprintf(stderr, "%s: --algorithm: unknown algorithm '%s'\n", prog, optarg);
                usage_error();
            }
            o.algorithm = optarg, o.algorithm_given = 1;
            break;
        case OPT_REPLICAS:
        case 'c':
        case 'g':
        case OPT_PROFILE:
        case 's':
        case OPT_SAMPLE:
        case OPT_NODES:
        case OPT_KICKS:
        case OPT_LEVEL: {
            const char *name = c == 'c' ? "--chiplets" : c == 'g' ? "--groups" : c == OPT_PROFILE ? "--profile"
                               : c == 's' ? "--seed" : c == OPT_SAMPLE ? "--sample" : c == OPT_REPLICAS ? "--replicas"
                               : c == OPT_NODES ? "--alloc-nodes" : c == OPT_KICKS ? "--kicks" : "--level";
            long lo = c == 's' || c == OPT_NODES || c == OPT_KICKS || c == OPT_REPLICAS ? 0 : 1;
            long hi = c == 's' ? 0xffffffffL : c == OPT_LEVEL ? 9 : c == 'c' || c == 'g' ? 65536
                      : c == OPT_SAMPLE ? 1L << 26 : c == OPT_REPLICAS ? 65535 : 0x7fffffffL;
            if (mz_parse_long(optarg, lo, hi, name, &v) < 0) {
                mz_perror(prog);
                usage_error();
            }
            if (c == 's')
                o.seed = (unsigned long)v;
            else
                *(c == 'c' ? &o.chiplets : c == 'g' ? &o.groups : c == OPT_PROFILE ? &o.profile
                  : c == OPT_SAMPLE ? &o.sample : c == OPT_NODES ? &o.alloc_nodes : c == OPT_KICKS ? &o.kicks
                  : c == OPT_REPLICAS ? &o.replicas : &o.level) = (int)v;
            if (c == 'c') o.chiplets_given = 1;
            if (c == 'g') o.groups_given = 1;
            break;
        }
        case OPT_FORMAT:
            if ((o.format = mz_placemap_format_parse(optarg)) < 0) {
                fprintf(stderr, "%s: --format: '%s' is not tsv, vllm, sglang or eplb\n", prog, optarg);
                usage_error();
            }
            break;
        case 'w': o.wafers[o.n_wafers++] = optarg; break;
        case 'S': o.sets[o.n_sets++] = optarg; break;
        case OPT_LATREPORT: o.latency_report = optarg; break;
        case 'r': o.report = optarg; break;
        case 'W': o.write_placement = optarg; break;
        case 'R': o.read_placement = optarg; break;
        case 'o': out_path = optarg; break;
        case 'u': o.level = 0; break;
        case 't': o.text = 1; break;
        case 'h':
            free(o.wafers), free(o.sets), usage(stdout);
            return mz_close_stdout() < 0 ? MZ_EXIT_DATA : MZ_EXIT_OK;
        case OPT_VERSION:
            free(o.wafers), free(o.sets), mz_print_version(prog);
            return mz_close_stdout() < 0 ? MZ_EXIT_DATA : MZ_EXIT_OK;
        default: usage_error();
        }
    }
    if (argc - optind > 1) {
        fprintf(stderr, "%s: one input trace at most\n", prog);
        usage_error();
    }
    if (optind < argc) in_path = argv[optind];
    if (mz_place_run_check(&o) < 0) {
        mz_perror(prog);
        usage_error();
    }
    ret = mz_place_run(&o, in_path, out_path);
    if (ret < 0) mz_perror(prog);
    free(o.wafers), free(o.sets);
    return ret < 0 ? MZ_EXIT_DATA : MZ_EXIT_OK;
}
