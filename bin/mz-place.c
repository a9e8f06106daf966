/* mz-place: place each MoE layer's experts onto chiplets and pass the trace on with the placement. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/mz.h"

static const char *prog = "mz-place";

#define USAGE_LINE                                                                                       \
    "Usage: mz-place [-a ALGO] [-c CHIPLETS] [-g GROUPS] [--profile STEPS] [--replicas N] [-r REPORT]\n" \
    "                [-W FILE | -R FILE] [--format F] [-w WAFER]... [-S KEY=VALUE]... [--latency-report FILE]\n" \
    "                [--max-load X] [-u | -t] [-o FILE] [TRACE]\n"

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
            "      --max-load X         no chiplet above X (>= 1) times the layer's mean chiplet\n"
            "                           load (mozart, ctswap, balanced, latency) [no cap]\n"
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

/* Which steps are profiled: the first n distinct steps (0: all). Records
 * are ordered by step, so a new step number is a new step. */
typedef struct {
    long n;
    int started, seen;
    uint32_t last;
} profiler;

static int profiled(profiler *p, uint32_t step)
{
    if (!p->started || step != p->last) p->seen++, p->last = step, p->started = 1;
    return p->n == 0 || p->seen <= p->n;
}

/* Whether the second pass should read a spooled copy instead of the input:
 * always for a pipe or standard input; for a regular file when reading it
 * again costs what the first read did, a second gzip decompression or text
 * parse. An uncompressed binary file is read again through the descriptor
 * opened, each record checked against the first pass (mz_reader_rewind). */
static int spool_input(const mz_trace_reader *tr)
{
    return !mz_reader_is_regular(tr->r) || mz_reader_is_text(tr->r) || mz_reader_is_gzip(tr->r);
}

enum { OPT_PROFILE = 256, OPT_SAMPLE, OPT_NODES, OPT_KICKS, OPT_LEVEL, OPT_VERSION, OPT_FORMAT, OPT_LATREPORT, OPT_REPLICAS, OPT_MAXLOAD };

/* -a latency (lib/placelat.c): it needs the priors and a token sample, as
 * ctswap does, so it runs on ctswap's path of this program. */
#define LATENCY_ALGO "latency"

/* A view of p with one "expert" per physical copy (the route's numbering),
 * for the C_T and balance report of a placement with replicas. */
static void physical_view(const mz_placement *p, const mz_route *r, mz_placement *v)
{
    memset(v, 0, sizeof *v);
    v->chiplets = p->chiplets, v->groups = p->groups, v->n_layers = p->n_layers, v->experts = r->maxp;
    v->layers = p->layers;
    v->chiplet = r->chip;
    memcpy(v->algorithm, p->algorithm, sizeof v->algorithm);
}

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
        {"max-load", required_argument, NULL, OPT_MAXLOAD},
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
    const char *in_path = "-", *out_path = "-", *report_path = NULL, *write_path = NULL, *read_path = NULL;
    long chiplets = 16, groups = 4, seed = 1, sample = 65536, nodes = 100000, kicks = 0, level = 1, v, nrep = 0;
    int needs_priors;
    mz_wafer wf;
    mz_replica_cap cap;
    mz_replica_stats rst = {0, 0, 0, 0, 0, 0};
    mz_route route = {0, 0, 0, NULL, NULL, NULL, NULL, NULL};
    mz_placement view;
    mz_token ptok = {0, 0, 0, NULL, NULL};
    int algo = MZ_PLACE_MOZART, algo_set = 0, topo_set = 0, chiplets_set = 0, text = 0, c, ret, map_format = -1;
    profiler prof = {0, 0, 0, 0};
    mz_trace_reader tr;
    mz_trace_info *ti;
    mz_placement pl;
    mz_priors pr = {0};
    mz_place_opts opts;
    mz_place_info *info = NULL;
    mz_place_eval ev;
    mz_spool *spool = NULL;
    mz_header h;
    mz_writer *w;
    uint8_t *rec;
    size_t rec_size;
    uint64_t n_first = 0, n_second = 0;
    int from_spool = 0, group_alloc = 0, steps_seen = 0;
    double alloc_gap = 0, max_load = 0;
    /* -w and -S: the wafer of -a latency (which times its candidates on the
     * profiled tokens, kept in lrec) and of --replicas (its capacity) */
    const char **wafers = mz_malloc(argc * sizeof *wafers), **sets = mz_malloc(argc * sizeof *sets);
    const char *latreport_path = NULL;
    int n_wafers = 0, n_sets = 0, latency = 0;
    mz_buf lrec = {0}, missed = {0};
    size_t n_lrec = 0;
    mz_placelat_result lres;

    mz_tool_init();
    while ((c = getopt_long(argc, argv, "a:c:g:s:r:W:R:w:S:o:uth", longopts, NULL)) != -1) {
        switch (c) {
        case 'a':
            latency = strcmp(optarg, LATENCY_ALGO) == 0;
            if (latency) {
                algo = MZ_PLACE_CTSWAP;
            } else if ((algo = mz_place_algorithm_parse(optarg)) < 0) {
                fprintf(stderr, "%s: --algorithm: unknown algorithm '%s'\n", prog, optarg);
                usage_error();
            }
            algo_set = 1;
            break;
        case OPT_MAXLOAD:
            if (mz_parse_double(optarg, 1, 65536, "--max-load", &max_load) < 0) {
                mz_perror(prog);
                usage_error();
            }
            break;
        case OPT_REPLICAS:
            if (mz_parse_long(optarg, 0, 65535, "--replicas", &nrep) < 0) {
                mz_perror(prog);
                usage_error();
            }
            break;
        case 'c':
        case 'g':
        case OPT_PROFILE:
        case 's':
        case OPT_SAMPLE:
        case OPT_NODES:
        case OPT_KICKS:
        case OPT_LEVEL: {
            const char *name = c == 'c' ? "--chiplets" : c == 'g' ? "--groups" : c == OPT_PROFILE ? "--profile"
                               : c == 's' ? "--seed" : c == OPT_SAMPLE ? "--sample"
                               : c == OPT_NODES ? "--alloc-nodes" : c == OPT_KICKS ? "--kicks" : "--level";
            long lo = c == 's' || c == OPT_NODES || c == OPT_KICKS ? 0 : 1;
            long hi = c == 's' ? 0xffffffffL : c == OPT_LEVEL ? 9 : c == 'c' || c == 'g' ? 65536
                      : c == OPT_SAMPLE ? 1L << 26 : 0x7fffffffL;
            if (mz_parse_long(optarg, lo, hi, name, &v) < 0) {
                mz_perror(prog);
                usage_error();
            }
            *(c == 'c' ? &chiplets : c == 'g' ? &groups : c == OPT_PROFILE ? &prof.n : c == 's' ? &seed
              : c == OPT_SAMPLE ? &sample : c == OPT_NODES ? &nodes : c == OPT_KICKS ? &kicks : &level) = v;
            if (c == 'c' || c == 'g') topo_set = 1;
            if (c == 'c') chiplets_set = 1;
            break;
        }
        case OPT_FORMAT:
            if ((map_format = mz_placemap_format_parse(optarg)) < 0) {
                fprintf(stderr, "%s: --format: '%s' is not tsv, vllm, sglang or eplb\n", prog, optarg);
                usage_error();
            }
            break;
        case 'w': wafers[n_wafers++] = optarg; break;
        case 'S': sets[n_sets++] = optarg; break;
        case OPT_LATREPORT: latreport_path = optarg; break;
        case 'r': report_path = optarg; break;
        case 'W': write_path = optarg; break;
        case 'R': read_path = optarg; break;
        case 'o': out_path = optarg; break;
        case 'u': level = 0; break;
        case 't': text = 1; break;
        case 'h':
            free(wafers), free(sets), usage(stdout);
            return mz_close_stdout() < 0 ? MZ_EXIT_DATA : MZ_EXIT_OK;
        case OPT_VERSION:
            free(wafers), free(sets), mz_print_version(prog);
            return mz_close_stdout() < 0 ? MZ_EXIT_DATA : MZ_EXIT_OK;
        default: usage_error();
        }
    }
    if (argc - optind > 1) {
        fprintf(stderr, "%s: one input trace at most\n", prog);
        usage_error();
    }
    if (optind < argc) in_path = argv[optind];
    if (text && level == 0) {
        fprintf(stderr, "%s: -u and -t exclude each other\n", prog);
        usage_error();
    }
    if (read_path && (write_path || algo_set)) {
        fprintf(stderr, "%s: --read-placement excludes --write-placement and --algorithm\n", prog);
        usage_error();
    }
    if (chiplets % groups) {
        fprintf(stderr, "%s: %ld chiplets cannot form %ld equal groups\n", prog, chiplets, groups);
        usage_error();
    }
    if (!latency && (n_sets || n_wafers) && !nrep) {
        fprintf(stderr, "%s: -w and -S give the wafer of -a latency or --replicas\n", prog);
        usage_error();
    }
    if (!latency && latreport_path) {
        fprintf(stderr, "%s: --latency-report is for -a latency\n", prog);
        usage_error();
    }
    if (latency && nrep) {
        fprintf(stderr, "%s: -a latency times its candidates without copies: it excludes --replicas\n", prog);
        usage_error();
    }
    if (latency && !n_wafers) {
        fprintf(stderr, "%s: -a latency times its candidates on a wafer: give it with -w (e.g. -w wafer-qwen3-30b-a3b)\n",
                prog);
        usage_error();
    }
    if (read_path && nrep) {
        fprintf(stderr, "%s: --read-placement excludes --replicas (the file's copies are kept)\n", prog);
        usage_error();
    }
    if (nrep && !n_wafers) {
        fprintf(stderr, "%s: --replicas places copies where the wafer's SRAM and DRAM hold them: give the wafer with -w\n",
                prog);
        usage_error();
    }
    if (map_format >= 0 && !read_path && !write_path) {
        fprintf(stderr, "%s: --format is the format of a -R or -W file\n", prog);
        usage_error();
    }

    if (n_wafers) {
        if (mz_wafer_open(&wf, (char *const *)wafers, n_wafers, (char *const *)sets, n_sets) < 0)
            mz_die(prog, "%s", mz_errmsg());
    }
    if (mz_trace_open(&tr, in_path) < 0) mz_die(prog, "%s", mz_errmsg());
    ti = &tr.info;
    if (nrep && (long)ti->model.experts + nrep > 65535)
        mz_die(prog, "--replicas %ld: %d experts and their copies must number at most 65535", nrep, ti->model.experts);
    needs_priors = mz_place_needs_priors(algo) || nrep > 0;
    rec_size = mz_trace_record_size(ti);
    rec = mz_malloc(rec_size);
    memset(&opts, 0, sizeof opts);
    opts.algorithm = algo;
    opts.seed = (unsigned long)seed;
    opts.alloc_nodes = nodes;
    opts.kicks = kicks;
    opts.max_load = read_path ? 0 : max_load;
    if (read_path && map_format < 0 && (map_format = mz_placemap_sniff(read_path)) < 0) mz_die(prog, "%s", mz_errmsg());
    if (read_path && map_format != MZ_PLACEMAP_TSV) {
        if (mz_placemap_read(read_path, map_format, ti, (int)chiplets, chiplets_set, (int)groups, &pl) < 0)
            mz_die(prog, "%s", mz_errmsg());
        if (pl.n_replicas) {
            int experts = 0, layers = 0;
            uint8_t *seen = mz_calloc((size_t)pl.n_layers * pl.experts, 1);
            for (int i = 0; i < pl.n_replicas; i++) {
                int sl = mz_placement_slot(&pl, pl.replica[3 * i]);
                experts += !seen[(size_t)sl * pl.experts + pl.replica[3 * i + 1]];
                seen[(size_t)sl * pl.experts + pl.replica[3 * i + 1]] = 1;
            }
            for (int l = 0; l < pl.n_layers; l++)
                for (int e = 0; e < pl.experts; e++)
                    if (seen[(size_t)l * pl.experts + e]) {
                        layers++;
                        break;
                    }
            free(seen);
            fprintf(stderr, "%s: %s: %d replicas (extra copies of %d experts in %d layers), kept in @PR lines and "
                            "costed: an expert's tokens go to its copies in turn, its primary copy the one on its "
                            "lowest chiplet\n",
                    prog, read_path, pl.n_replicas, experts, layers);
        }
        chiplets = pl.chiplets;
    } else if (read_path) {
        int fc, fg, got = topo_set ? 0 : mz_place_tsv_topology(read_path, &fc, &fg);
        if (got < 0) mz_die(prog, "%s", mz_errmsg());
        if (got) chiplets = fc, groups = fg;
        if (mz_placement_read_tsv(read_path, ti, (int)chiplets, (int)groups, &pl) < 0)
            mz_die(prog, "%s", mz_errmsg());
    } else if (mz_placement_init(&pl, ti, (int)chiplets, (int)groups) < 0) {
        mz_die(prog, "%s: %s", in_path, mz_errmsg());
    }
    info = mz_calloc(pl.n_layers, sizeof *info);

    if (!read_path && needs_priors) {
        /* First pass: the priors. An uncompressed binary file is read
         * again for the output; anything else (a pipe, gzip, text) is
         * spooled to a temporary file as it is read. */
        if (spool_input(&tr)) {
            if (!(spool = mz_spool_open(rec_size))) mz_die(prog, "%s", mz_errmsg());
            from_spool = 1;
        } else if (mz_reader_remember(tr.r) < 0) {
            mz_die(prog, "%s", mz_errmsg());
        }
        if (mz_priors_init(&pr, ti, algo == MZ_PLACE_CTSWAP ? (size_t)sample : 0, (unsigned long)seed) < 0)
            mz_die(prog, "%s: %s", in_path, mz_errmsg());
        while ((ret = mz_trace_next(&tr)) > 0) {
            if (profiled(&prof, tr.tok.step)) {
                mz_priors_add(&pr, &tr.tok);
                if (latency) {
                    /* the profiled tokens, kept to time the candidates on */
                    if (lrec.n + rec_size > MZ_MAX_TABLE_BYTES)
                        mz_die(prog, "%s: -a latency keeps the profiled tokens in memory, and they exceed %llu MB: "
                                     "profile on fewer steps (--profile)",
                               in_path, MZ_MAX_TABLE_BYTES >> 20);
                    mz_token_encode(ti, &tr.tok, rec);
                    mz_buf_put(&lrec, rec, rec_size);
                    n_lrec++;
                }
            }
            if (spool) {
                mz_token_encode(ti, &tr.tok, rec);
                if (mz_spool_put(spool, rec) < 0) mz_die(prog, "%s", mz_errmsg());
            }
            n_first++;
        }
        if (ret < 0) mz_die(prog, "%s", mz_errmsg());
        if (mz_priors_finish(&pr) < 0) mz_die(prog, "%s: %s", in_path, mz_errmsg());
        if (nrep) mz_replica_cap_init(&cap, ti, &wf, pl.chiplets);
        if (latency) {
            mz_placelat_input li = {&wf, ti, mz_reader_header(tr.r), (const uint8_t *)lrec.s, n_lrec, rec_size};
            if (mz_placelat_compute(&pl, &pr, &opts, &li, info, &lres) < 0) mz_die(prog, "%s: %s", in_path, mz_errmsg());
            mz_buf_free(&lrec);
        } else if (algo == MZ_PLACE_EPLB) {
            if (!nrep) mz_replica_cap_init(&cap, ti, NULL, pl.chiplets);
            if (mz_place_eplb(&pl, &pr, (int)nrep, &cap, &rst) < 0) mz_die(prog, "%s", mz_errmsg());
        } else {
            if (mz_place_compute(&pl, &pr, &opts, info) < 0) mz_die(prog, "%s", mz_errmsg());
            if (nrep && mz_place_replicas(&pl, &pr, (int)nrep, &cap, &rst) < 0) mz_die(prog, "%s", mz_errmsg());
        }
        if (nrep && rst.placed < nrep * pl.n_layers)
            fprintf(stderr, "%s: --replicas %ld: %ld of the %ld copies asked for placed (%ld of %d layers short): %ld "
                            "did not fit (a chiplet's SRAM: %ld, a group's DRAM: %ld) and are not placed%s\n",
                    prog, nrep, rst.placed, nrep * pl.n_layers, rst.short_layers, pl.n_layers, rst.refused,
                    rst.refused_sram, rst.refused_dram,
                    rst.refused < nrep * pl.n_layers - rst.placed ? "; the rest found no expert with load to split" : "");
        if (rst.over_dram)
            fprintf(stderr, "%s: --replicas: %ld copies placed in group DRAM already over capacity (the wafer has no "
                            "spill tier: capacity reported by mz-cost, not enforced)\n", prog, rst.over_dram);
        if (spool) {
            if (mz_spool_rewind(spool) < 0) mz_die(prog, "%s", mz_errmsg());
        } else if (mz_trace_rewind(&tr) < 0) {
            mz_die(prog, "%s", mz_errmsg());
        }
        steps_seen = prof.seen;
        prof.started = 0, prof.seen = 0;
    } else if (!read_path) {
        if (mz_place_compute(&pl, NULL, &opts, info) < 0) mz_die(prog, "%s", mz_errmsg());
    }
    for (int l = 0; l < pl.n_layers; l++)
        if (info[l].group_alloc == 2 || (info[l].group_alloc == 1 && group_alloc == 0))
            group_alloc = info[l].group_alloc;
    for (int l = 0; l < pl.n_layers; l++)
        if (info[l].gap > alloc_gap) alloc_gap = info[l].gap;
    if (opts.max_load > 0 && (v = mz_place_cap_missed(&pl, info, &missed, &c)) > 0)
        fprintf(stderr, "%s: --max-load %g: %ld of %d layers keep a chiplet above the cap (layers %s), %d of them "
                "because no placement meets it\n", prog, opts.max_load, v, pl.n_layers, missed.s, c);
    mz_buf_free(&missed);

    /* the header: the input's, with this placement instead of any other */
    mz_header_copy(&h, mz_reader_header(tr.r));
    mz_placement_to_header(&pl, &h);
    mz_header_remove(&h, "@PA");
    mz_placement_replicas_to_header(&pl, &h);
    if (read_path && map_format != MZ_PLACEMAP_TSV) {
        mz_header_add(&h, "@PA\talgorithm:file\tformat:%s\treplicas:%d%s", mz_placemap_format_name(map_format),
                      pl.n_replicas, pl.n_replicas ? "\tsplit:round-robin" : "");
    } else if (read_path && pl.n_replicas) {
        mz_header_add(&h, "@PA\talgorithm:file\treplicas:%d\tsplit:round-robin", pl.n_replicas);
    } else if (read_path) {
        mz_header_add(&h, "@PA\talgorithm:file");
    } else if (needs_priors) {
        mz_buf b = {0};
        mz_buf_printf(&b, "@PA\talgorithm:%s\tprofile_steps:%ld\tprofile_tokens:%llu\tgroup_alloc:%s",
                      pl.algorithm, prof.n && prof.n < steps_seen ? prof.n : (long)steps_seen,
                      (unsigned long long)pr.tokens, mz_place_alloc_name(group_alloc));
        if (group_alloc == 2) mz_buf_printf(&b, "\tgroup_alloc_gap:%.6f", alloc_gap);
        if (nrep || algo == MZ_PLACE_EPLB)
            mz_buf_printf(&b, "\treplicas:%d\treplicas_asked:%ld\tsplit:round-robin", pl.n_replicas, nrep * pl.n_layers);
        if (algo == MZ_PLACE_CTSWAP) mz_buf_printf(&b, "\tsample:%zu\tseed:%ld", pr.kept, seed);
        if (latency) {
            mz_buf_printf(&b, "\tchosen:%s\tlatency_s:%.6f", lres.name[lres.chosen], lres.latency[lres.chosen]);
            for (int k = 0; k < lres.n; k++) mz_buf_printf(&b, "\t%s_s:%.6f", lres.name[k], lres.latency[k]);
        }
        mz_header_add(&h, "%s", b.s);
        mz_buf_free(&b);
    } else if (algo == MZ_PLACE_RANDOM) {
        mz_header_add(&h, "@PA\talgorithm:%s\tseed:%ld", pl.algorithm, seed);
    } else {
        mz_header_add(&h, "@PA\talgorithm:%s", pl.algorithm);
    }
    mz_header_add_pg(&h, prog, argc, argv);

    /* second (or only) pass: the trace on, and C_T and balance per layer */
    if (!(w = mz_writer_open(out_path, MZ_KIND_TRACE, &h, text, (int)level))) mz_die(prog, "%s", mz_errmsg());
    if (!text && mz_writer_is_tty(w)) {
        mz_writer_abort(w);
        mz_die(prog, "refusing to write binary data to a terminal (use -o FILE, a pipe, or -t)");
    }
    /* with replicas the report sees each selection on the copy that takes it */
    mz_route_init(&route, &pl);
    physical_view(&pl, &route, &view);
    if (pl.n_replicas) ptok.ids = mz_malloc((size_t)ti->n_layers * ti->model.topk * sizeof *ptok.ids);
    mz_place_eval_init(&ev, &view, ti->model.topk);
    for (;;) {
        if (from_spool) {
            if ((ret = mz_spool_get(spool, rec)) > 0 && mz_token_decode(ti, rec, rec_size, &tr.tok) < 0) ret = -1;
        } else if ((ret = mz_trace_next(&tr)) > 0) {
            mz_token_encode(ti, &tr.tok, rec);
        }
        if (ret <= 0) break;
        if (pl.n_replicas) {
            for (int l = 0, k = ti->model.topk; l < ti->n_layers; l++)
                for (int a = 0; a < k; a++)
                    ptok.ids[(size_t)l * k + a] = (uint16_t)mz_route_copy(&route, l, tr.tok.ids[(size_t)l * k + a]);
            mz_place_eval_add(&ev, &view, &ptok, !profiled(&prof, tr.tok.step));
        } else {
            mz_place_eval_add(&ev, &view, &tr.tok, !profiled(&prof, tr.tok.step));
        }
        if (mz_writer_put(w, rec, rec_size) < 0) break;
        n_second++;
    }
    if (ret > 0 || ret < 0) {
        mz_writer_abort(w);
        mz_die(prog, "%s", mz_errmsg());
    }
    if (n_first && n_second != n_first) {
        mz_writer_abort(w);
        mz_die(prog, "%s: changed while being read (%llu records, then %llu)", in_path,
               (unsigned long long)n_first, (unsigned long long)n_second);
    }
    if (mz_writer_close(w) < 0) mz_die(prog, "%s", mz_errmsg());

    if (report_path) {
        mz_out *out = mz_out_open(report_path, 0);
        int ps = prof.n && prof.n < prof.seen ? (int)prof.n : prof.seen;
        if (!out) mz_die(prog, "%s", mz_errmsg());
        if (mz_place_report_write(&ev, &view, read_path ? NULL : info, ps, prof.seen - ps, out) < 0) {
            mz_out_abort(out);
            mz_die(prog, "%s", mz_errmsg());
        }
        if (mz_out_close(out) < 0) mz_die(prog, "%s", mz_errmsg());
    }
    if (latreport_path) {
        mz_out *out = mz_out_open(latreport_path, 0);
        if (!out) mz_die(prog, "%s", mz_errmsg());
        if (mz_placelat_report_write(&lres, out) < 0) {
            mz_out_abort(out);
            mz_die(prog, "%s", mz_errmsg());
        }
        if (mz_out_close(out) < 0) mz_die(prog, "%s", mz_errmsg());
    }
    if (write_path) {
        mz_out *out = mz_out_open(write_path, 0);
        if (!out) mz_die(prog, "%s", mz_errmsg());
        if (mz_placemap_write(&pl, &ti->model, map_format < 0 ? MZ_PLACEMAP_TSV : map_format, out) < 0) {
            mz_out_abort(out);
            mz_die(prog, "%s", mz_errmsg());
        }
        if (mz_out_close(out) < 0) mz_die(prog, "%s", mz_errmsg());
    }

    mz_place_eval_free(&ev);
    mz_route_free(&route);
    free(ptok.ids);
    if (n_wafers) mz_wafer_free(&wf);
    mz_spool_close(spool);
    if (mz_trace_close(&tr) < 0) mz_die(prog, "%s", mz_errmsg());
    mz_header_free(&h);
    mz_priors_free(&pr);
    mz_placement_free(&pl);
    free(info);
    free(rec);
    free(wafers), free(sets);
    return MZ_EXIT_OK;
}
