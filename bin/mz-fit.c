/* mz-fit: fit a routing prior (what mz-trace samples from) to measured expert loads. */
#include <stdlib.h>

#include "../lib/opt.h"

static const char *prog = "mz-fit";

#define USAGE "Usage: mz-fit -m MODEL (-T TABLE [-S COL=V[,V]]... | -r TRACE) [options] [-o PRIOR]\n"

#define ABOUT                                                                                               \
    "Fit a routing prior for MODEL so that traces drawn by mz-trace reproduce the\n"                          \
    "measured per-layer expert loads. Layers without data get the load shape\n"                               \
    "interpolated by depth between measured layers (see mz-fit(1)).\n"                                        \
    "\n"

static int parse_format(const char *arg, void *var)
{
    if ((*(int *)var = mz_counts_format_parse(arg)) >= 0) return 0;
    mz_error("--format: '%s' is not auto, sglang, layer-json or eplb", arg);
    return -1;
}

static int parse_layer_index(const char *arg, void *var)
{
    if ((*(int *)var = mz_layer_index_parse(arg)) >= 0) return 0;
    mz_error("--layer-index: '%s' is not auto, block or moe", arg);
    return -1;
}

static int parse_layout(const char *arg, void *var)
{
    if ((*(int *)var = mz_layout_parse(arg)) >= 0) return 0;
    mz_error("--topic-layout: '%s' is not random, strided or blocked", arg);
    return -1;
}

int main(int argc, char **argv)
{
    const char *table = NULL, *trace = NULL, *out_path = "-";
    int first, ret;
    mz_fit_run_opts o;
    const mz_opt opts[] = {
        MZ_OPT_STR('m', "model", "NAME|FILE", &o.model, "model the prior is for"),
        MZ_OPT_STR('T', "table", "FILE", &table,
                   "loads table: TSV with columns layer, expert, share|count;\n"
                   "or a count set (SGLang counts, per-layer JSON, EPLB table)"),
        MZ_OPT_PARSE(0, "format", "F", &o.counts_format, parse_format,
                     "the count set's format: auto, sglang, layer-json, eplb", "auto"),
        MZ_OPT_PARSE(0, "layer-index", "I", &o.layer_index, parse_layer_index,
                     "count-set rows are block, moe or auto (see mz-import(1))", "auto"),
        MZ_OPT_LIST('S', "select", "COL=V[,V]", &o.select, &o.n_select,
                    "keep table rows whose COL is one of the values (repeatable)"),
        MZ_OPT_STR('r', "trace", "FILE", &trace, "count loads from a trace instead"),
        MZ_OPT_STR('F', "from", "MODEL", &o.from, "the loads were measured on this other model"),
        MZ_OPT_DOUBLE(0, "coact", "X", &o.coact, 0, 50, "co-activation strength"),
        MZ_OPT_INT_D(0, "topic-size", "N", &o.topic_size, 1, 1 << 30, "experts per latent topic", "top-k"),
        MZ_OPT_PARSE(0, "topic-layout", "L", &o.topic_layout, parse_layout, "random, strided or blocked", "random"),
        MZ_OPT_INT(0, "topic-seed", "N", &o.topic_seed, 0, 1 << 30, "seed of the random topic layout"),
        MZ_OPT_DOUBLE(0, "seq-stick", "P", &o.seq_stick, 0, 1, "probability a token uses its sequence's topic"),
        MZ_OPT_DOUBLE(0, "layer-stick", "P", &o.layer_stick, 0, 1,
                      "probability a token keeps its previous layer's topic"),
        MZ_OPT_INT('i', "iters", "N", &o.iters, 1, 1 << 30, "fixed-point iterations"),
        MZ_OPT_INT('k', "tokens", "N", &o.tokens, 1, 1 << 26, "tokens sampled per iteration"),
        MZ_OPT_INT('s', "seed", "N", &o.seed, 0, 1 << 30, "seed of the fit's sampling and of shape dealing"),
        MZ_OPT_LIST('N', "note", "TEXT", &o.notes, &o.n_notes, "add a '#' provenance line (repeatable)"),
        MZ_OPT_STR('R', "report", "FILE", &o.report_path, "per-layer TSV: target vs fitted skew"),
        MZ_OPT_OUTPUT(&out_path, "prior file"),
        MZ_OPT_TABLE_END};
    const mz_opt_tool tool = {prog, USAGE, ABOUT, opts, NULL, 27};

    mz_fit_run_opts_init(&o);
    mz_tool_init();
    first = mz_opt_parse(&tool, argc, argv);
    if (first != argc) mz_opt_usage_error(&tool, "unexpected argument '%s'", argv[first]);
    if (!o.model || !table == !trace)
        mz_opt_usage_error(&tool, "need -m MODEL and exactly one of -T TABLE or -r TRACE");
    if (o.n_select && !table) mz_opt_usage_error(&tool, "-S selects rows of a table (-T)");

    o.trace = trace != NULL;
    ret = mz_fit_run(&o, table ? table : trace, out_path);
    free(o.select);
    free(o.notes);
    if (ret < 0) mz_die(prog, "%s", mz_errmsg());
    return MZ_EXIT_OK;
}
