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

int main(int argc, char **argv)
{
    const char *out_path = "-";
    mz_import_run_opts r;
    mz_import_opts *o = &r.im;
    int quiet = 0, first;

    mz_import_run_opts_init(&r);
    r.prog = prog, r.argc = argc, r.argv = argv;
    const mz_opt opts[] = {
        MZ_OPT_STR('m', "model", "NAME|FILE", &r.model, "catalogue name (models/NAME.json) or a config.json path"),
        MZ_OPT_PARSE('f', "format", "F", o, parse_format,
                     "auto, jsonl, tsv or csv; or a count set: sglang, layer-json\n"
                     "or eplb (written as a loads table for mz-fit)", "auto"),
        MZ_OPT_STR_D(0, "fields", "MAP", &o->fields,
                     "JSONL key names, e.g. ids=experts,weights=gating_probs,\n"
                     "req=dataset+problem_id (req=- : no sequence id)", "ours"),
        MZ_OPT_PARSE(0, "layer-index", "I", &r.layer_index, parse_layer_index,
                     "count-set rows are block numbers, MoE layers in order,\n"
                     "or either by the rule of mz-import(1): block, moe, auto", "auto"),
        MZ_OPT_INT(0, "packed-len", "N", &o->packed_len, 0, 1 << 30,
                   "report a log with one sequence id and a sequence longer\n"
                   "than N tokens as packed batches; 0 = off"),
        MZ_OPT_PARSE('d', "drop", "KINDS", &o->drop, parse_drop,
                     "drop these anomalies instead of refusing the log: a list of\n"
                     "range, duplicate, count, gap, repeat, warmup, or all", "none"),
        MZ_OPT_INT_CHECK(0, "max-run", "N", &o->max_run, 0, 1000000,
                         "identical routes in a row that make a warm-up run; 0 = off", check_max_run),
        MZ_OPT_INT('b', "seqs", "N", &o->seqs, 1, 1 << 30, "sequences per step"),
        MZ_OPT_INT_D('L', "seq-len", "N", &o->seq_len, 1, 1 << 30, "split sequences longer than N tokens", "no split"),
        MZ_OPT_STR_D('l', "layers", "LIST", &r.layers, "import these MoE layers only", "the log's layers"),
        MZ_OPT_FLAG(0, "weights", &o->weights, "keep the gate weights (topk_weights)"),
        MZ_OPT_FLAG('q', "quiet", &quiet, "do not list anomalies and the summary on stderr"),
        MZ_OPT_STREAM_OUTPUT(&out_path, "output file", &r.level, &r.text),
        MZ_OPT_TABLE_END};
    const mz_opt_tool tool = {prog, USAGE, ABOUT, opts, NULL, 25};

    mz_tool_init();
    first = mz_opt_parse(&tool, argc, argv);
    if (mz_import_run_check(&r, argc - first) < 0) mz_opt_usage_error(&tool, "%s", mz_errmsg());
    r.warn = quiet ? NULL : stderr;
    if (mz_import_run(&r, first < argc ? argv[first] : "-", out_path) < 0) mz_die(prog, "%s", mz_errmsg());
    return MZ_EXIT_OK;
}
