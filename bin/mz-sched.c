/* mz-sched: turn a placed routing trace into a schedule stream of operations, one training step at a time. */
#include <stdlib.h>
#include <string.h>

#include "../lib/opt.h"

static const char *prog = "mz-sched";

#define USAGE                                                                                          \
    "Usage: mz-sched [-V VARIANT | --overlap --dedup] [-M N] [--slices N] [-w WAFER]... [-S KEY=VALUE]... [--order ORDER]\n" \
    "                [--prefetch N] [--optimizer OPT] [--shared-on WHERE] [-u | -t] [-o FILE] [TRACE]\n"
#define ABOUT                                                                                          \
    "Read a placed routing trace (mz-place) and write the schedule of each training step:\n"           \
    "the operations of every micro-batch, layer and direction with their logical endpoints,\n"         \
    "quantities (FLOPs, bytes) and dependencies, for mz-cost. TRACE is binary or text, gzip\n"         \
    "or plain; '-' or nothing reads stdin. The layout is the placement in the trace header.\n"         \
    "\n"

/* --variant, --order, --shared-on, --optimizer: the index of the argument
 * in names (NULL-terminated), else the error "--OPT: 'ARG' is not A, B or C". */
static int pick(const char *arg, int *var, const char *opt, const char *const *names)
{
    char list[64] = "";
    for (int i = 0; names[i]; i++) {
        if (strcmp(arg, names[i]) == 0) return *var = i, 0;
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", !i ? "" : names[i + 1] ? ", " : " or ", names[i]);
    }
    mz_error("--%s: '%s' is not %s", opt, arg, list);
    return -1;
}
static const char *const variants[] = {"baseline", "A", "B", "C", NULL};
#define PICK(fn, opt, ...) \
    static int fn(const char *arg, void *var) { return pick(arg, var, opt, (const char *const[]){__VA_ARGS__}); }
PICK(parse_variant, "variant", "baseline", "A", "B", "C", NULL)
PICK(parse_order, "order", "auto", "layer", "mb", NULL)
PICK(parse_shared, "shared-on", "auto", "root", "spread", NULL)
PICK(parse_optimizer, "optimizer", "sgd", "adam", NULL)

int main(int argc, char **argv)
{
    const char *in_path = "-", *out_path = "-";
    char **wafers = NULL, **sets = NULL;
    int variant = -1, first;
    mz_sched_run_opts o;
    mz_sched_opts *so = &o.sched;

    mz_sched_run_opts_init(&o);
    const mz_opt opts[] = {
        MZ_OPT_PARSE('V', "variant", "NAME", &variant, parse_variant,
                     "the paper's ladder: baseline (no overlap, no dedup), A\n(overlap), B or C (overlap and dedup)",
                     "baseline"),
        MZ_OPT_FLAG(0, "overlap", &so->overlap, "stream tokens and weights (the paper's fine-grained schedule)"),
        MZ_OPT_FLAG(0, "dedup", &so->dedup, "efficient all-to-all: one copy per destination chiplet"),
        MZ_OPT_INT('M', "micro-batches", "N", &so->micro_batches, 1, 65536, "micro-batches per step"),
        MZ_OPT_INT(0, "slices", "N", &so->slices, 1, 65536, "token slices per micro-batch when streaming, at most its\ntokens"),
        MZ_OPT_LIST('w', "wafer", "NAME|FILE", &wafers, &o.n_wafers,
                    "the wafer (layers repeat): its SRAM decides the order and\nhow many blocks of weights a chiplet holds"),
        MZ_OPT_LIST('S', "set", "KEY=VALUE", &sets, &o.n_sets, "override a field of that wafer (as mz-cost -S)"),
        MZ_OPT_PARSE(0, "order", "ORDER", &so->order, parse_order,
                     "'layer': each block once for all micro-batches; 'mb':\n"
                     "micro-batch by micro-batch, weights streamed for each;\n"
                     "'auto': layer when the SRAM holds a block, its gradients\n"
                     "and buffers, else mb (layer without -w)", "auto"),
        MZ_OPT_INT(0, "prefetch", "N", &so->prefetch, 0, 2,
                   "blocks of expert weights a chiplet holds (1 or 2); 0: from\nthe wafer's SRAM (1 without -w)"),
        MZ_OPT_INT(0, "load-chunks", "N", &so->load_chunks, 1, 65536, "a chiplet's weights stream in at most N chunks"),
        MZ_OPT_PARSE(0, "optimizer", "OPT", &so->optimizer, parse_optimizer,
                     "'sgd': the update writes the weights; 'adam': FP32 master\n"
                     "weights and moments, 12 bytes a parameter read and\nwritten at every update", "sgd"),
        MZ_OPT_PARSE(0, "shared-on", "WHERE", &so->shared_on, parse_shared,
                     "shared experts on the 'root', 'spread' over every chiplet\n"
                     "(a column slice each), or 'auto': the root when its SRAM holds\n"
                     "two blocks of attention and shared weights (or without -w),\nelse spread", "auto"),
        MZ_OPT_INT(0, "bytes", "N", &so->bytes, 1, 16, "bytes per element of weights and activations"),
        MZ_OPT_INT(0, "grad-bytes", "N", &so->grad_bytes, 1, 16, "bytes per element of gradient accumulators"),
        MZ_OPT_STREAM_OUTPUT(&out_path, "output schedule", &o.level, &o.text),
        MZ_OPT_TABLE_END};
    const mz_opt_tool tool = {prog, USAGE, ABOUT, opts, NULL, 27};

    mz_tool_init();
    first = mz_opt_parse(&tool, argc, argv);
    if (argc - first > 1) mz_opt_usage_error(&tool, "one input trace at most");
    if (first < argc) in_path = argv[first];
    mz_opt_check_form(&tool, o.level == 0, o.text);
    if (variant >= 0 && (so->overlap || so->dedup)) mz_opt_usage_error(&tool, "--variant excludes --overlap and --dedup");
    if (o.n_sets && !o.n_wafers) mz_opt_usage_error(&tool, "-s overrides a wafer's field: give the wafer with -w");

    o.variant = variant >= 0 ? variants[variant] : NULL;
    o.wafers = wafers, o.sets = sets, o.argc = argc, o.argv = argv;
    if (mz_sched_run(&o, in_path, out_path) < 0) mz_die(prog, "%s", mz_errmsg());
    free(wafers), free(sets);
    return MZ_EXIT_OK;
}
