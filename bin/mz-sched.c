/* mz-sched: turn a placed routing trace into a schedule stream of operations, one training step at a time. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/mz.h"

static const char *prog = "mz-sched";

#define USAGE_LINE                                                                                     \
    "Usage: mz-sched [-V VARIANT | --overlap --dedup] [-M N] [--slices N] [-w WAFER]... [-S KEY=VALUE]... [--order ORDER]\n" \
    "                [--prefetch N] [--optimizer OPT] [--shared-on WHERE] [-u | -t] [-o FILE] [TRACE]\n"

static void usage(FILE *fp)
{
    fprintf(fp,
            USAGE_LINE
            "Read a placed routing trace (mz-place) and write the schedule of each training step:\n"
            "the operations of every micro-batch, layer and direction with their logical endpoints,\n"
            "quantities (FLOPs, bytes) and dependencies, for mz-cost. TRACE is binary or text, gzip\n"
            "or plain; '-' or nothing reads stdin. The layout is the placement in the trace header.\n"
            "\n"
            "  -V, --variant NAME       the paper's ladder: baseline (no overlap, no dedup), A\n"
            "                           (overlap), B or C (overlap and dedup) [baseline]\n"
            "      --overlap            stream tokens and weights (the paper's fine-grained schedule)\n"
            "      --dedup              efficient all-to-all: one copy per destination chiplet\n"
            "  -M, --micro-batches N    micro-batches per step [4]\n"
            "      --slices N           token slices per micro-batch when streaming, at most its\n"
            "                           tokens [8]\n"
            "  -w, --wafer NAME|FILE    the wafer (layers repeat): its SRAM decides the order and\n"
            "                           how many blocks of weights a chiplet holds\n"
            "  -S, --set KEY=VALUE      override a field of that wafer (as mz-cost -S)\n"
            "      --order ORDER        'layer': each block once for all micro-batches; 'mb':\n"
            "                           micro-batch by micro-batch, weights streamed for each;\n"
            "                           'auto': layer when the SRAM holds a block, its gradients\n"
            "                           and buffers, else mb (layer without -w) [auto]\n"
            "      --prefetch N         blocks of expert weights a chiplet holds (1 or 2); 0: from\n"
            "                           the wafer's SRAM (1 without -w) [0]\n"
            "      --load-chunks N      a chiplet's weights stream in at most N chunks [4]\n"
            "      --optimizer OPT      'sgd': the update writes the weights; 'adam': FP32 master\n"
            "                           weights and moments, 12 bytes a parameter read and\n"
            "                           written at every update [sgd]\n"
            "      --shared-on WHERE    shared experts on the 'root', 'spread' over every chiplet\n"
            "                           (a column slice each), or 'auto': the root when its SRAM holds\n"
            "                           two blocks of attention and shared weights (or without -w),\n"
            "                           else spread [auto]\n"
            "      --bytes N            bytes per element of weights and activations [2]\n"
            "      --grad-bytes N       bytes per element of gradient accumulators [2]\n"
            "  -o, --output FILE        output schedule [-]\n"
            "  -u, --uncompressed       binary without gzip (for pipes)\n"
            "  -t, --text               text form instead of binary\n"
            "      --level N            gzip level 1-9 [1]\n"
            "  -h, --help               show this help\n"
            "      --version            show the version\n");
}

static void usage_error(void)
{
    fprintf(stderr, USAGE_LINE "Try 'mz-sched --help' for more information.\n");
    exit(MZ_EXIT_USAGE);
}

typedef struct {
    mz_writer *w;
    mz_buf rec;
} emitter;

static int put_op(void *arg, const mz_op *op)
{
    emitter *e = arg;
    e->rec.n = 0;
    mz_op_encode(op, &e->rec);
    return mz_writer_put(e->w, (const uint8_t *)e->rec.s, e->rec.n);
}

enum { OPT_OVERLAP = 256, OPT_DEDUP, OPT_SLICES, OPT_PREFETCH, OPT_CHUNKS, OPT_OPTIMIZER, OPT_SHARED, OPT_ORDER,
       OPT_BYTES, OPT_GRADBYTES, OPT_LEVEL, OPT_VERSION };

/* Index of s in names[n], or -1. */
static int pick(const char *s, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (strcmp(s, names[i]) == 0) return i;
    return -1;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"variant", required_argument, NULL, 'V'},
        {"overlap", no_argument, NULL, OPT_OVERLAP},
        {"dedup", no_argument, NULL, OPT_DEDUP},
        {"micro-batches", required_argument, NULL, 'M'},
        {"slices", required_argument, NULL, OPT_SLICES},
        {"prefetch", required_argument, NULL, OPT_PREFETCH},
        {"wafer", required_argument, NULL, 'w'},
        {"set", required_argument, NULL, 'S'},
        {"load-chunks", required_argument, NULL, OPT_CHUNKS},
        {"optimizer", required_argument, NULL, OPT_OPTIMIZER},
        {"grad-bytes", required_argument, NULL, OPT_GRADBYTES},
        {"shared-on", required_argument, NULL, OPT_SHARED},
        {"order", required_argument, NULL, OPT_ORDER},
        {"bytes", required_argument, NULL, OPT_BYTES},
        {"output", required_argument, NULL, 'o'},
        {"uncompressed", no_argument, NULL, 'u'},
        {"text", no_argument, NULL, 't'},
        {"level", required_argument, NULL, OPT_LEVEL},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, OPT_VERSION},
        {NULL, 0, NULL, 0}};
    const char *in_path = "-", *out_path = "-", *variant = NULL;
    const char **wafers = mz_malloc(argc * sizeof *wafers), **sets = mz_malloc(argc * sizeof *sets);
    int n_sets = 0, n_wafers = 0, text = 0, flags = 0, c, ret;
    long level = 1, v;
    mz_sched_opts o;
    mz_trace_reader tr;
    mz_placement pl;
    mz_sched *s;
    mz_header h;
    emitter em = {0};
    uint32_t step = 0;
    int have_step = 0;

    mz_tool_init();
    mz_sched_opts_default(&o);
    while ((c = getopt_long(argc, argv, "V:M:w:S:o:uth", longopts, NULL)) != -1) {
        switch (c) {
        case 'V':
            if (strcmp(optarg, "baseline") && strcmp(optarg, "A") && strcmp(optarg, "B") && strcmp(optarg, "C")) {
                fprintf(stderr, "%s: --variant: '%s' is not baseline, A, B or C\n", prog, optarg);
                usage_error();
            }
            variant = optarg;
            break;
        case OPT_OVERLAP: o.overlap = 1, flags = 1; break;
        case OPT_DEDUP: o.dedup = 1, flags = 1; break;
        case 'w': wafers[n_wafers++] = optarg; break;
        case 'S': sets[n_sets++] = optarg; break;
        case OPT_SHARED: {
            static const char *const names[] = {"auto", "root", "spread"};
            if ((o.shared_on = pick(optarg, names, 3)) < 0) {
                fprintf(stderr, "%s: --shared-on: '%s' is not auto, root or spread\n", prog, optarg);
                usage_error();
            }
            break;
        }
        case OPT_ORDER: {
            static const char *const names[] = {"auto", "layer", "mb"};
            if ((o.order = pick(optarg, names, 3)) < 0) {
                fprintf(stderr, "%s: --order: '%s' is not auto, layer or mb\n", prog, optarg);
                usage_error();
            }
            break;
        }
        case OPT_OPTIMIZER: {
            static const char *const names[] = {"sgd", "adam"};
            if ((o.optimizer = pick(optarg, names, 2)) < 0) {
                fprintf(stderr, "%s: --optimizer: '%s' is not sgd or adam\n", prog, optarg);
                usage_error();
            }
            break;
        }
        case 'M':
        case OPT_SLICES:
        case OPT_PREFETCH:
        case OPT_CHUNKS:
        case OPT_BYTES:
        case OPT_GRADBYTES:
        case OPT_LEVEL: {
            static const struct {
                int opt;
                const char *name;
                long lo, hi;
            } num[] = {{'M', "--micro-batches", 1, 65536}, {OPT_SLICES, "--slices", 1, 65536},
                       {OPT_PREFETCH, "--prefetch", 0, 2},   {OPT_CHUNKS, "--load-chunks", 1, 65536},
                       {OPT_BYTES, "--bytes", 1, 16},        {OPT_GRADBYTES, "--grad-bytes", 1, 16},
                       {OPT_LEVEL, "--level", 1, 9}};
            int *dst[] = {&o.micro_batches, &o.slices, &o.prefetch, &o.load_chunks, &o.bytes, &o.grad_bytes, NULL};
            int k = 0;
            while (num[k].opt != c) k++;
            if (mz_parse_long(optarg, num[k].lo, num[k].hi, num[k].name, &v) < 0) {
                mz_perror(prog);
                usage_error();
            }
            if (dst[k])
                *dst[k] = (int)v;
            else
                level = v;
            break;
        }
        case 'o': out_path = optarg; break;
        case 'u': level = 0; break;
        case 't': text = 1; break;
        case 'h':
        case OPT_VERSION:
            if (c == 'h')
                usage(stdout);
            else
                mz_print_version(prog);
            free(wafers), free(sets);
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
    if (variant && flags) {
        fprintf(stderr, "%s: --variant excludes --overlap and --dedup\n", prog);
        usage_error();
    }
    if (variant) {
        o.overlap = strcmp(variant, "baseline") != 0;
        o.dedup = strcmp(variant, "B") == 0 || strcmp(variant, "C") == 0;
        snprintf(o.variant, sizeof o.variant, "%s", variant);
    }
    if (n_sets && !n_wafers) {
        fprintf(stderr, "%s: -s overrides a wafer's field: give the wafer with -w\n", prog);
        usage_error();
    }
    if (n_wafers) {
        mz_wafer wf;
        if (mz_wafer_open(&wf, (char *const *)wafers, n_wafers, (char *const *)sets, n_sets) < 0)
            mz_die(prog, "%s", mz_errmsg());
        o.sram_bytes = o.root_sram_bytes = wf.sram_bytes;
        mz_wafer_free(&wf);
    }

    if (mz_trace_open(&tr, in_path) < 0) mz_die(prog, "%s", mz_errmsg());
    ret = mz_placement_from_header(mz_reader_header(tr.r), &tr.info, &pl);
    if (ret < 0) mz_die(prog, "%s: %s", in_path, mz_errmsg());
    if (ret == 0)
        mz_die(prog, "%s: the trace has no placement (@PT/@PL lines): run it through mz-place first", in_path);
    if (!variant) {
        const char *label = !o.overlap && !o.dedup ? "baseline"
                            : o.overlap && !o.dedup ? "A"
                            : o.overlap ? (strcmp(pl.algorithm, "contiguous") == 0 ? "B" : "C")
                                        : "dedup";
        snprintf(o.variant, sizeof o.variant, "%s", label);
    }
    if (!(s = mz_sched_new(&tr.info, &pl, &o))) mz_die(prog, "%s: %s", in_path, mz_errmsg());

    mz_header_copy(&h, mz_reader_header(tr.r));
    mz_sched_opts_to_header(mz_sched_resolved(s), &h);
    mz_header_add_pg(&h, prog, argc, argv);
    if (strcmp(out_path, "-") == 0) mz_pipe_widen(1); /* overlap with mz-cost downstream */
    if (!(em.w = mz_writer_open(out_path, MZ_KIND_SCHED, &h, text, (int)level))) mz_die(prog, "%s", mz_errmsg());
    if (!text && mz_writer_is_tty(em.w)) {
        mz_writer_abort(em.w);
        mz_die(prog, "refusing to write binary data to a terminal (use -o FILE, a pipe, or -t)");
    }
    while ((ret = mz_trace_next(&tr)) > 0) {
        if (have_step && tr.tok.step != step) {
            if (mz_sched_emit(s, step, put_op, &em) < 0) break;
        }
        step = tr.tok.step;
        have_step = 1;
        mz_sched_add(s, &tr.tok);
    }
    if (ret == 0 && have_step && mz_sched_emit(s, step, put_op, &em) < 0) ret = -1;
    if (ret != 0) {
        mz_writer_abort(em.w);
        mz_die(prog, "%s", mz_errmsg());
    }
    if (mz_writer_close(em.w) < 0) mz_die(prog, "%s", mz_errmsg());
    if (mz_trace_close(&tr) < 0) mz_die(prog, "%s", mz_errmsg());
    mz_sched_free(s);
    mz_placement_free(&pl);
    mz_header_free(&h);
    mz_buf_free(&em.rec);
    free(wafers), free(sets);
    return MZ_EXIT_OK;
}
