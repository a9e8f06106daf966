/* mz-import: turn a real routing log (vLLM route-log JSONL, or TSV/CSV) into a trace, reporting its anomalies. */
#include <stdlib.h>
#include <string.h>

#include "../lib/opt.h"

static const char *prog = "mz-import";

#define USAGE "Usage: mz-import -m MODEL [-d KINDS] [-b SEQS] [-L SEQ_LEN] [-l LAYERS] [options] [FILE]\n"
#define ABOUT                                                                                               \
    "Convert a real routing log into a trace (MZT). FILE is a vLLM route log (JSONL: a\n"                     \
    "'meta' line, then 'route' lines) or a TSV/CSV of 'sequence token layer id...', plain\n"                  \
    "or gzip; '-' or nothing reads standard input. Schema: man mz-import. A count set\n"                      \
    "(SGLang count matrix, per-layer expert-load JSON, EPLB table) becomes a loads table.\n"                  \
    "\n"

static int parse_format(const char *arg, void *var)
{
    mz_import_opts *o = var;
    if (strcmp(arg, "auto") == 0)
        o->format = MZ_IMPORT_AUTO;
    else if (strcmp(arg, "jsonl") == 0)
        o->format = MZ_IMPORT_JSONL;
    else if (strcmp(arg, "tsv") == 0)
        o->format = MZ_IMPORT_TSV;
    else if (strcmp(arg, "csv") == 0)
        o->format = MZ_IMPORT_CSV;
    else if (mz_counts_format_parse(arg) > 0)
        o->format = MZ_IMPORT_COUNTS, o->counts_format = mz_counts_format_parse(arg);
    else {
        mz_error("--format: '%s' is not auto, jsonl, tsv, csv, sglang, layer-json or eplb", arg);
        return -1;
    }
    return 0;
}

static int parse_layer_index(const char *arg, void *var)
{
    if ((*(int *)var = mz_layer_index_parse(arg)) >= 0) return 0;
    mz_error("--layer-index: '%s' is not auto, block or moe", arg);
    return -1;
}

static int parse_drop(const char *arg, void *var) { return mz_anomaly_parse(arg, var); }

static int check_max_run(const char *arg, void *var)
{
    (void)arg;
    if (*(int *)var != 1) return 0;
    mz_error("--max-run: 1 would make every token a run; use 0 (off) or at least 2");
    return -1;
}

static void report(void *arg, const char *msg)
{
    (void)arg;
    fprintf(stderr, "%s: %s\n", prog, msg);
}

/* "2 warmup (16384 tokens), 1 range (1 token)" for the kinds in set. */
static void describe(const mz_import_counts *c, unsigned set, mz_buf *b)
{
    int n = 0;
    for (int k = 0; k < MZ_ANOM_KINDS; k++)
        if (set & (1u << k))
            mz_buf_printf(b, "%s%ld %s (%llu %s%s)", n++ ? ", " : "", c->found[k], mz_anomaly_name(k),
                          (unsigned long long)c->dropped[k], k == MZ_ANOM_REPEAT ? "row" : "token",
                          c->dropped[k] == 1 ? "" : "s");
}

/* A count set to a loads table ("layer expert count"), with a summary on stderr. */
static int import_counts(mz_import *im, const char *in_path, const char *out_path, int layer_index, int quiet)
{
    mz_loads d;
    mz_buf note = {0};
    mz_out *out;
    if (mz_import_read_counts(im, layer_index, &d, &note) < 0) return -1;
    if (!(out = mz_out_open(out_path, 0))) {
        mz_loads_free(&d);
        mz_buf_free(&note);
        return -1;
    }
    {
        mz_buf line = {0};
        mz_buf_printf(&line, "expert selection counts from %s: %s", in_path, note.s);
        if (mz_loads_write_counts(&d, line.s, out) < 0) {
            mz_out_abort(out);
            mz_buf_free(&line);
            mz_loads_free(&d);
            mz_buf_free(&note);
            return -1;
        }
        mz_buf_free(&line);
    }
    if (mz_out_close(out) < 0) {
        mz_loads_free(&d);
        mz_buf_free(&note);
        return -1;
    }
    if (!quiet) {
        double lo = 0, hi = 0;
        for (int l = 0; l < d.n_layers; l++) {
            double t = 0;
            for (int e = 0; e < d.experts; e++) t += d.share[(size_t)l * d.experts + e];
            if (!l || t < lo) lo = t;
            if (!l || t > hi) hi = t;
        }
        fprintf(stderr, "%s: %s: a count set, %s; %d layers x %d experts, %.0f to %.0f selections per layer; "
                        "wrote a loads table\n", prog, in_path, note.s, d.n_layers, d.experts, lo, hi);
    }
    mz_loads_free(&d);
    mz_buf_free(&note);
    return 0;
}

int main(int argc, char **argv)
{
    const char *model_arg = NULL, *layers_arg = NULL, *out_path = "-", *in_path = "-";
    int text = 0, quiet = 0, first, *layers = NULL, layer_index = MZ_LAYERS_AUTO, level = 1;
    mz_import_opts o = {.format = MZ_IMPORT_AUTO, .seqs = 32, .seq_len = 0, .max_run = 64, .packed_len = 512};
    mz_model m;
    mz_import *im;
    mz_header h = {0};
    mz_writer *w;
    const mz_import_counts *cnt;
    unsigned refused;

    const mz_opt opts[] = {
        MZ_OPT_STR('m', "model", "NAME|FILE", &model_arg, "catalogue name (models/NAME.json) or a config.json path"),
        MZ_OPT_PARSE('f', "format", "F", &o, parse_format,
                     "auto, jsonl, tsv or csv; or a count set: sglang, layer-json\n"
                     "or eplb (written as a loads table for mz-fit)", "auto"),
        MZ_OPT_STR_D(0, "fields", "MAP", &o.fields,
                     "JSONL key names, e.g. ids=experts,weights=gating_probs,\n"
                     "req=dataset+problem_id (req=- : no sequence id)", "ours"),
        MZ_OPT_PARSE(0, "layer-index", "I", &layer_index, parse_layer_index,
                     "count-set rows are block numbers, MoE layers in order,\n"
                     "or either by the rule of mz-import(1): block, moe, auto", "auto"),
        MZ_OPT_INT(0, "packed-len", "N", &o.packed_len, 0, 1 << 30,
                   "report a log with one sequence id and a sequence longer\n"
                   "than N tokens as packed batches; 0 = off"),
        MZ_OPT_PARSE('d', "drop", "KINDS", &o.drop, parse_drop,
                     "drop these anomalies instead of refusing the log: a list of\n"
                     "range, duplicate, count, gap, repeat, warmup, or all", "none"),
        MZ_OPT_INT_CHECK(0, "max-run", "N", &o.max_run, 0, 1000000,
                         "identical routes in a row that make a warm-up run; 0 = off", check_max_run),
        MZ_OPT_INT('b', "seqs", "N", &o.seqs, 1, 1 << 30, "sequences per step"),
        MZ_OPT_INT_D('L', "seq-len", "N", &o.seq_len, 1, 1 << 30, "split sequences longer than N tokens", "no split"),
        MZ_OPT_STR_D('l', "layers", "LIST", &layers_arg, "import these MoE layers only", "the log's layers"),
        MZ_OPT_FLAG(0, "weights", &o.weights, "keep the gate weights (topk_weights)"),
        MZ_OPT_FLAG('q', "quiet", &quiet, "do not list anomalies and the summary on stderr"),
        MZ_OPT_OUTPUT(&out_path, "output file"),
        MZ_OPT_SET('u', "uncompressed", &level, 0, "binary without gzip (for pipes)"),
        MZ_OPT_FLAG('t', "text", &text, "text form instead of binary"),
        MZ_OPT_INT(0, "level", "N", &level, 1, 9, "gzip level 1-9"),
        MZ_OPT_TABLE_END};
    const mz_opt_tool tool = {prog, USAGE, ABOUT, opts, NULL, 25};

    mz_tool_init();
    first = mz_opt_parse(&tool, argc, argv);
    if (argc - first > 1) 
        mz_opt_usage_error(&tool, "one input file at most");
    if (first < argc) in_path = argv[first];
    mz_opt_check_form(&tool, level == 0, text);
    if (!model_arg) 
        mz_opt_usage_error(&tool, "no model given (-m)");
    if (o.weights && (o.format == MZ_IMPORT_TSV || o.format == MZ_IMPORT_CSV)) 
        mz_opt_usage_error(&tool, "-w: TSV and CSV logs carry no gate weights");

    if (mz_model_load(model_arg, &m) < 0) mz_die(prog, "%s", mz_errmsg());
    if (layers_arg) {
        if ((o.n_layers = mz_parse_ranges(layers_arg, 0, m.layers - 1, "--layers", &layers)) < 0)
            mz_die(prog, "%s", mz_errmsg());
        o.layers = layers;
    }
    o.report = quiet ? NULL : report;
    if (!(im = mz_import_open(in_path, &m, &o))) mz_die(prog, "%s", mz_errmsg());
    if (mz_import_counts_format(im)) {
        if (import_counts(im, in_path, out_path, layer_index, quiet) < 0) mz_die(prog, "%s", mz_errmsg());
        mz_import_close(im);
        mz_model_free(&m);
        free(layers);
        return MZ_EXIT_OK;
    }
    if (mz_import_read(im) < 0) mz_die(prog, "%s", mz_errmsg());
    cnt = mz_import_get_counts(im);
    if ((refused = mz_import_refused(im))) {
        mz_buf what = {0}, kinds = {0};
        describe(cnt, refused, &what);
        for (int k = 0, n = 0; k < MZ_ANOM_KINDS; k++)
            if (refused & (1u << k)) mz_buf_printf(&kinds, "%s%s", n++ ? "," : "", mz_anomaly_name(k));
        mz_die(prog, "%s: refusing to import a log with anomalies: %s; drop them with --drop %s "
                     "(or --drop all), or fix the log", in_path, what.s, kinds.s);
    }
    if (mz_import_header(im, &h) < 0) mz_die(prog, "%s", mz_errmsg());
    {
        /* what -m named, as resolved (mz_find_data's rule) */
        char *model_path = mz_model_find(model_arg);
        const char *keys[] = {"model"}, *paths[] = {model_path};
        mz_header_add_pg_resolved(&h, prog, argc, argv, 1, keys, paths);
        free(model_path);
    }
    if (!(w = mz_writer_open(out_path, MZ_KIND_TRACE, &h, text, level))) mz_die(prog, "%s", mz_errmsg());
    if (!text && mz_opt_refuse_tty(w) < 0) mz_die(prog, "%s", mz_errmsg());
    if (mz_import_write(im, w) < 0) {
        mz_writer_abort(w);
        mz_die(prog, "%s", mz_errmsg());
    }
    if (mz_writer_close(w) < 0) mz_die(prog, "%s", mz_errmsg());
    if (!quiet) {
        mz_buf what = {0};
        unsigned dropped = 0;
        for (int k = 0; k < MZ_ANOM_KINDS; k++)
            if (cnt->found[k]) dropped |= 1u << k;
        describe(cnt, dropped, &what);
        fprintf(stderr, "%s: %s: %llu of %llu tokens kept in %ld sequences (longest %ld)%s%s\n", prog, in_path,
                (unsigned long long)cnt->tokens, (unsigned long long)cnt->tokens_in, cnt->seqs, cnt->longest,
                dropped ? "; dropped: " : "", dropped ? what.s : "");
        mz_buf_free(&what);
    }
    mz_import_close(im);
    mz_header_free(&h);
    mz_model_free(&m);
    free(layers);
    return MZ_EXIT_OK;
}
