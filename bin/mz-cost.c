/* mz-cost: time a schedule on a wafer: step latency, breakdown, resource use, timeline; or fit wafer constants. */
#include <stdlib.h>

#include "../lib/opt.h"

static const char *prog = "mz-cost";

#define ABOUT                                                                                               \
    "Time a schedule (mz-sched) on a wafer description, step by step (the model: mz-model(7)):\n"            \
    "each op holds the resources it uses for its quantity over their rates; every resource\n"                \
    "serves its ops in stream order; Baseline barriers; the critical path; the footprint of\n"               \
    "every memory against its capacity. SCHEDULE is binary or text, gzip or plain; '-' or\n"                 \
    "nothing reads stdin. Writes one TSV row per step and a mean row; with the wafer's area and\n"           \
    "energy model ([tech], [energy]: models/tech-28nm.wafer) its area, joules and watts too.\n"              \
    "\n"

#define USAGE_LINE                                                                                          \
    "Usage: mz-cost -w WAFER [-w LAYER]... [-S KEY=VALUE]... [-b FILE] [-r FILE] [-F FILE] [-T FILE\n"      \
    "               [--timeline-steps RANGE]] [--strict] [-o FILE] [SCHEDULE]\n"                            \
    "       mz-cost --fit TARGETS [--free KEY[=LO:HI],...] [-S KEY=VALUE]... [-o FILE]\n"                       \
    "       mz-cost --area -w WAFER [-w LAYER]... [-S KEY=VALUE]... [-o FILE]\n"

int main(int argc, char **argv)
{
    const char *out_path = "-";
    mz_cost_file_opts o;
    int first, ret;

    mz_cost_file_opts_init(&o);
    o.prog = prog, o.warn = stderr;
    const mz_opt opts[] = {
        MZ_OPT_LIST('w', "wafer", "NAME|FILE", &o.wafers, &o.n_wafers,
                    "wafer description (NAME finds models/NAME.wafer); repeat to\n"
                    "layer files, later ones overriding earlier ones"),
        MZ_OPT_LIST('S', "set", "KEY=VALUE", &o.sets, &o.n_sets, "override one field, e.g. memory.bandwidth_GBps=512"),
        MZ_OPT_STR('b', "breakdown", "FILE", &o.breakdown, "per step, layer and category: total and exposed seconds"),
        MZ_OPT_STR('r', "resources", "FILE", &o.resources, "per resource: FLOPs or bytes, busy seconds, utilisation"),
        MZ_OPT_STR('F', "footprint", "FILE", &o.footprint, "per memory: bytes resident at the peak against capacity"),
        MZ_OPT_FLAG(0, "strict", &o.strict, "refuse (exit 1) a wafer whose memories cannot hold the step"),
        MZ_OPT_STR('T', "timeline", "FILE", &o.timeline, "Chrome trace event JSON (Perfetto), one track per resource"),
        MZ_OPT_STR(0, "timeline-steps", "RANGE", &o.timeline_steps, "steps in the timeline, e.g. 0-2"),
        MZ_OPT_FLAG(0, "area", &o.area, "print the wafer's area table, bottom-up (no schedule)"),
        MZ_OPT_STR(0, "fit", "TARGETS", &o.fit, "fit wafer constants to the targets of a TSV (see mz-cost(1))"),
        MZ_OPT_STR(0, "free", "KEY[=LO:HI],...", &o.free_list, "fields the fit varies and their ranges\n"),
        MZ_OPT_OUTPUT(&out_path, "output TSV"),
        MZ_OPT_FLAG('q', "quiet", &o.quiet, "no fit progress on stderr"),
        MZ_OPT_TABLE_END};
    const mz_opt_tool tool = {prog, USAGE_LINE, ABOUT, opts, NULL, 27};

    mz_tool_init();
    first = mz_opt_parse(&tool, argc, argv);
    if (mz_cost_file_check(&o, argc - first) < 0) mz_opt_usage_error(&tool, "%s", mz_errmsg());
    if ((ret = mz_cost_file(&o, first < argc ? argv[first] : "-", out_path)) < 0) mz_perror(prog);
    free(o.wafers), free(o.sets);
    return ret < 0 ? MZ_EXIT_DATA : MZ_EXIT_OK;
}
