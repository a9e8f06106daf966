/* mz-cost: time a schedule on a wafer: step latency, breakdown, resource use, timeline; or fit wafer constants. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/opt.h"

static const char *prog = "mz-cost";

/* The calibrated constants of models/calibrated.wafer (mz-model(7) section 7). */
#define FREE_DEFAULT "root.dispatch_Bpc=8:128"

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


/* What the costing loop holds, freed on the way out of an error (so that a
 * leak checker sees a clean exit on every path). */
static mz_cost *held_cost;
static mz_reader *held_reader;

static void die_out(mz_out **outs, int n)
{
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", mz_errmsg());
    for (int i = 0; i < n; i++)
        if (outs[i]) mz_out_abort(outs[i]);
    mz_cost_free(held_cost);
    if (held_reader) mz_reader_close(held_reader);
    held_cost = NULL, held_reader = NULL;
    mz_die(prog, "%s", msg);
}

static int fit_main(const char *targets, const char *free_list, char **sets, int n_sets, const char *out_path, int quiet)
{
    char *copy = mz_strdup(free_list), *p = copy, *item, *keys[16];
    int n = 0;
    mz_fit *f;
    mz_out *out;
    while ((item = strsep(&p, ",")) != NULL) {
        if (n == 16) mz_die(prog, "--free: too many fields");
        keys[n++] = item;
    }
    if (!(f = mz_fit_load(targets, sets, n_sets))) mz_die(prog, "%s", mz_errmsg());
    if (mz_fit_solve(f, keys, n, quiet ? NULL : stderr) < 0) mz_die(prog, "%s", mz_errmsg());
    if (!(out = mz_out_open(out_path, 0))) mz_die(prog, "%s", mz_errmsg());
    if (mz_fit_write(f, out) < 0) die_out(&out, 1);
    if (mz_out_close(out) < 0) mz_die(prog, "%s", mz_errmsg());
    mz_fit_free(f);
    free(copy);
    return MZ_EXIT_OK;
}

static int in_list(const int *v, int n, int x)
{
    for (int i = 0; i < n; i++)
        if (v[i] == x) return 1;
    return 0;
}

int main(int argc, char **argv)
{
    const char *in_path = "-", *out_path = "-", *bd_path = NULL, *res_path = NULL, *tl_path = NULL;
    const char *fit_path = NULL, *free_list = FREE_DEFAULT, *fp_path = NULL;
    const char *tl_range = "0";
    char **wafers = NULL, **sets = NULL;
    int n_wafers = 0, n_sets = 0, quiet = 0, strict = 0, ret, *tl_steps = NULL, n_tl = 0, first_event = 1;
    int all_fit = 1, warned = 0, area = 0;
    mz_wafer w;
    mz_reader *rd;
    const mz_header *h;
    mz_cost *cost;
    mz_op op = {0};
    mz_out *out[5] = {NULL, NULL, NULL, NULL, NULL}; /* main, breakdown, resources, timeline, footprint */
    const uint8_t *rec;
    size_t len;
    double sum_lat = 0, sum_tok = 0, sum_cp = 0, sum_gcp = 0, sum_ops = 0, sum_path = 0, t0 = 0;
    double area_mm2 = 0, sum_e = 0, sum_static = 0, peak_W = 0;
    long steps = 0;

    const mz_opt opts[] = {
        MZ_OPT_LIST('w', "wafer", "NAME|FILE", &wafers, &n_wafers,
                    "wafer description (NAME finds models/NAME.wafer); repeat to\n"
                    "layer files, later ones overriding earlier ones"),
        MZ_OPT_LIST('S', "set", "KEY=VALUE", &sets, &n_sets, "override one field, e.g. memory.bandwidth_GBps=512"),
        MZ_OPT_STR('b', "breakdown", "FILE", &bd_path, "per step, layer and category: total and exposed seconds"),
        MZ_OPT_STR('r', "resources", "FILE", &res_path, "per resource: FLOPs or bytes, busy seconds, utilisation"),
        MZ_OPT_STR('F', "footprint", "FILE", &fp_path, "per memory: bytes resident at the peak against capacity"),
        MZ_OPT_FLAG(0, "strict", &strict, "refuse (exit 1) a wafer whose memories cannot hold the step"),
        MZ_OPT_STR('T', "timeline", "FILE", &tl_path, "Chrome trace event JSON (Perfetto), one track per resource"),
        MZ_OPT_STR(0, "timeline-steps", "RANGE", &tl_range, "steps in the timeline, e.g. 0-2"),
        MZ_OPT_FLAG(0, "area", &area, "print the wafer's area table, bottom-up (no schedule)"),
        MZ_OPT_STR(0, "fit", "TARGETS", &fit_path, "fit wafer constants to the targets of a TSV (see mz-cost(1))"),
        MZ_OPT_STR(0, "free", "KEY[=LO:HI],...", &free_list, "fields the fit varies and their ranges\n"),
        MZ_OPT_OUTPUT(&out_path, "output TSV"),
        MZ_OPT_FLAG('q', "quiet", &quiet, "no fit progress on stderr"),
        MZ_OPT_TABLE_END};
    const mz_opt_tool tool = {prog, USAGE_LINE, ABOUT, opts, NULL, 27};
    int first;

    mz_tool_init();
    first = mz_opt_parse(&tool, argc, argv);
    if (area && (fit_path || bd_path || res_path || tl_path || fp_path || strict || first < argc || !n_wafers))
        mz_opt_usage_error(&tool, "--area takes the wafer (-w, -s) and -o only");
    if (fit_path) {
        if (n_wafers || bd_path || res_path || tl_path || fp_path || first < argc)
            mz_opt_usage_error(&tool, "--fit takes the schedules and wafers from TARGETS: no -w, -b, -r, -F, -T or SCHEDULE");
        ret = fit_main(fit_path, free_list, sets, n_sets, out_path, quiet);
        free(wafers), free(sets);
        return ret;
    }
    if (argc - first > 1)
        mz_opt_usage_error(&tool, "one schedule at most");
    if (first < argc) in_path = argv[first];
    if (!n_wafers)
        mz_opt_usage_error(&tool, "give a wafer description with -w (e.g. -w wafer-qwen3-30b-a3b)");
    if ((n_tl = mz_parse_ranges(tl_range, 0, 0x7fffffff, "--timeline-steps", &tl_steps)) < 0)
        mz_opt_usage_error(&tool, "%s", mz_errmsg());

    if (mz_wafer_open(&w, wafers, n_wafers, sets, n_sets) < 0) mz_die(prog, "%s", mz_errmsg());
    if (area) { /* the area table: the wafer alone */
        mz_buf b = {0};
        if (!(out[0] = mz_out_open(out_path, 0))) mz_die(prog, "%s", mz_errmsg());
        mz_buf_puts(&b, "#mz-cost\tarea\n#wafer");
        for (int k = 0; k < w.n_layers; k++) mz_buf_printf(&b, "\t%s", w.layer[k]);
        mz_buf_puts(&b, "\n");
        if (mz_out_puts(out[0], b.s) < 0 || mz_area_write(&w, out[0]) < 0) die_out(out, 1);
        mz_buf_free(&b);
        if (mz_out_close(out[0]) < 0) mz_die(prog, "%s", mz_errmsg());
        mz_wafer_free(&w);
        free(wafers), free(sets), free(tl_steps);
        return MZ_EXIT_OK;
    }
    if (strcmp(in_path, "-") == 0) mz_pipe_widen(0); /* overlap with mz-sched upstream */
    if (!(rd = mz_reader_open(in_path, MZ_KIND_SCHED))) mz_die(prog, "%s", mz_errmsg());
    h = mz_reader_header(rd);
    if (!(cost = mz_cost_new(&w, h))) mz_die(prog, "%s: %s", in_path, mz_errmsg());
    held_cost = cost, held_reader = rd;

    if (!(out[0] = mz_out_open(out_path, 0))) die_out(out, 5);
    if (bd_path && !(out[1] = mz_out_open(bd_path, 0))) die_out(out, 5);
    if (res_path && !(out[2] = mz_out_open(res_path, 0))) die_out(out, 5);
    if (tl_path && !(out[3] = mz_out_open(tl_path, 0))) die_out(out, 5);
    if (fp_path && !(out[4] = mz_out_open(fp_path, 0))) die_out(out, 5);
    {
        char model[MZ_NAME_MAX] = "?", variant[32] = "?", algo[32] = "?";
        int i;
        mz_buf b = {0};
        if ((i = mz_header_find(h, "@MD", 0)) >= 0) mz_header_value(h, i, "name", model, sizeof model);
        if ((i = mz_header_find(h, "@SC", 0)) >= 0) mz_header_value(h, i, "variant", variant, sizeof variant);
        if ((i = mz_header_find(h, "@PT", 0)) >= 0) mz_header_value(h, i, "algorithm", algo, sizeof algo);
        mz_buf_printf(&b, "#mz-cost\tmodel:%s\tvariant:%s\tplacement:%s\tschedule:%s\n", model, variant, algo, in_path);
        mz_buf_puts(&b, "#wafer");
        for (int k = 0; k < w.n_layers; k++) mz_buf_printf(&b, "\t%s", w.layer[k]);
        mz_buf_puts(&b, "\n");
        if (mz_out_puts(out[0], b.s) < 0 ||
            mz_out_puts(out[0], w.power ? "step\tlatency_s\tct\tct_group\ttokens\tops\tcritical_ops\tfits\tarea_mm2\t"
                                          "energy_J\tstatic_J\tpower_W\tpeak_power_W\n"
                                        : "step\tlatency_s\tct\tct_group\ttokens\tops\tcritical_ops\tfits\n") < 0)
            die_out(out, 5);
        if (out[1] && (mz_out_puts(out[1], b.s) < 0 || mz_out_puts(out[1], w.power ? "step\tlayer\tcategory\ttotal_s\texposed_s\tenergy_J\n"
                                                                       : "step\tlayer\tcategory\ttotal_s\texposed_s\n") < 0))
            die_out(out, 5);
        if (out[2] && mz_out_puts(out[2], b.s) < 0) die_out(out, 5);
        if (out[4] && mz_out_puts(out[4], b.s) < 0) die_out(out, 5);
        if (out[3] && (mz_out_puts(out[3], "{\"traceEvents\":[\n") < 0 ||
                       mz_cost_write_tracks(cost, out[3], &first_event) < 0))
            die_out(out, 5);
        mz_buf_free(&b);
    }

    for (;;) {
        ret = mz_reader_next(rd, &rec, &len);
        if (ret < 0) die_out(out, 5);
        if (ret > 0 && mz_op_decode(rec, len, &op) < 0) {
            mz_error_prefix("%s", mz_reader_where(rd));
            die_out(out, 5);
        }
        if (ret > 0 && op.id > 0 && mz_cost_add(cost, &op) < 0) {
            mz_error_prefix("%s", mz_reader_where(rd));
            die_out(out, 5);
        }
        /* a step ends with its stat op (or, failing that, where the next begins) */
        if ((ret == 0 || op.id == 0 || op.kind == MZ_OP_STAT) && mz_cost_pending(cost)) {
            mz_cost_row row;
            if (mz_cost_run(cost, &row) < 0) {
                mz_error_prefix("%s", in_path);
                die_out(out, 5);
            }
            if (!row.fits && !warned) {
                /* the memories cannot hold the step: say so once, or refuse */
                mz_buf b = {0};
                char files[512] = "";
                for (int k = 0; k < w.n_layers; k++)
                    snprintf(files + strlen(files), sizeof files - strlen(files), "%s%s", k ? ", " : "", w.layer[k]);
                mz_cost_fit_report(cost, &b);
                if (strict) {
                    if (b.n) b.s[b.n - 1] = '\0';
                    mz_error("the step does not fit the wafer (%s): %s", files, b.s ? b.s : "");
                    mz_buf_free(&b);
                    die_out(out, 5);
                }
                fprintf(stderr, "%s: warning: the step does not fit the wafer (%s); -F FILE gives every memory:\n%s",
                        prog, files, b.s ? b.s : "");
                mz_buf_free(&b);
                warned = 1;
            }
            all_fit &= row.fits;
            if (mz_out_printf(out[0], "%u\t%.6f\t%.4f\t%.4f\t%.0f\t%d\t%d\t%d", row.step, row.latency_s, row.ct,
                              row.ct_group, row.tokens, row.ops, row.path_ops, row.fits) < 0 ||
                (w.power && mz_out_printf(out[0], "\t%.1f\t%.9g\t%.9g\t%.6g\t%.6g", row.area_mm2, row.energy_J,
                                          row.static_J, row.power_W, row.peak_W) < 0) ||
                mz_out_puts(out[0], "\n") < 0)
                die_out(out, 5);
            if (out[1] && mz_cost_write_breakdown(cost, out[1], 0) < 0) die_out(out, 5);
            if (out[3] && in_list(tl_steps, n_tl, (int)row.step)) {
                if (mz_cost_write_timeline(cost, out[3], t0, &first_event) < 0) die_out(out, 5);
                t0 += row.latency_s;
            }
            sum_lat += row.latency_s;
            area_mm2 = row.area_mm2, sum_e += row.energy_J, sum_static += row.static_J;
            if (row.peak_W > peak_W) peak_W = row.peak_W;
            sum_tok += row.tokens;
            if (row.tokens > 0) sum_cp += row.ct * row.tokens, sum_gcp += row.ct_group * row.tokens;
            sum_ops += row.ops;
            sum_path += row.path_ops;
            steps++;
        }
        if (ret == 0) break;
        if (op.id == 0 && mz_cost_add(cost, &op) < 0) {
            mz_error_prefix("%s", mz_reader_where(rd));
            die_out(out, 5);
        }
    }
    if (!steps) {
        mz_error("%s: the schedule has no steps", in_path);
        die_out(out, 5);
    }
    if (mz_out_printf(out[0], "mean\t%.6f\t%.4f\t%.4f\t%.0f\t%.0f\t%.0f\t%d", sum_lat / steps,
                      sum_tok > 0 ? sum_cp / sum_tok : 0, sum_tok > 0 ? sum_gcp / sum_tok : 0, sum_tok / steps,
                      sum_ops / steps, sum_path / steps, all_fit) < 0 ||
        (w.power && mz_out_printf(out[0], "\t%.1f\t%.9g\t%.9g\t%.6g\t%.6g", area_mm2, sum_e / steps, sum_static / steps,
                                  sum_lat > 0 ? sum_e / sum_lat : 0, peak_W) < 0) ||
        mz_out_puts(out[0], "\n") < 0)
        die_out(out, 5);
    if (out[2] && mz_cost_write_resources(cost, out[2]) < 0) die_out(out, 5);
    if (out[4] && mz_cost_write_footprint(cost, out[4]) < 0) die_out(out, 5);
    if (out[3] && mz_out_puts(out[3], "\n],\"displayTimeUnit\":\"ms\"}\n") < 0) die_out(out, 5);
    held_reader = NULL;
    if (mz_reader_close(rd) < 0) die_out(out, 5);
    for (int i = 4; i >= 0; i--)
        if (out[i] && mz_out_close(out[i]) < 0) {
            out[i] = NULL;
            die_out(out, i);
        }
    held_cost = NULL;
    mz_cost_free(cost);
    mz_op_free(&op);
    mz_wafer_free(&w);
    free(wafers);
    free(sets);
    free(tl_steps);
    return MZ_EXIT_OK;
}
