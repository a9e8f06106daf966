/* mz-fit: fit a routing prior (what mz-trace samples from) to measured expert loads. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

/* Which count format a table file is (MZ_COUNTS_*), 0 for a loads table. */
static int table_format(const char *path, int format)
{
    char head[4096];
    long n;
    mz_in *in;
    struct stat st;
    if (format) return format;
    /* looking would consume a pipe (or standard input): a loads table unless --format says */
    if (strcmp(path, "-") == 0 || stat(path, &st) < 0 || !S_ISREG(st.st_mode)) return 0;
    if (!(in = mz_in_open(path))) return -1;
    n = mz_in_peek(in, head, sizeof head);
    mz_in_close(in);
    if (n < 0) return -1;
    /* a tab-separated header line is our loads table (read as it always was) */
    for (long i = 0; i < n;) {
        long e = i;
        while (e < n && head[e] != '\n') e++;
        if (e > i && head[i] != '#') {
            if (((head[i] >= 'a' && head[i] <= 'z') || (head[i] >= 'A' && head[i] <= 'Z')) && memchr(head + i, '\t', e - i))
                return 0;
            break;
        }
        i = e + 1;
    }
    return mz_counts_sniff(head, (size_t)n);
}

int main(int argc, char **argv)
{
    const char *model_arg = NULL, *table = NULL, *trace = NULL, *from_arg = NULL, *out_path = "-",
               *report_path = NULL;
    char **select = NULL, **notes = NULL;
    int n_select = 0, n_notes = 0, layout = -1, first, counts_format = 0, layer_index = MZ_LAYERS_AUTO;
    mz_buf counts_note = {0};
    int tsize = 0, tseed = MZ_DEFAULT_TOPIC_SEED, iters = 30, tokens = 20000, seed = 1;
    double coact = MZ_DEFAULT_COACT, seq_stick = MZ_DEFAULT_SEQ_STICK, layer_stick = MZ_DEFAULT_LAYER_STICK;
    mz_model m, src;
    mz_loads loads;
    mz_prior p;
    mz_buf note = {0};
    mz_out *out;
    double *fitted;

    const mz_opt opts[] = {
        MZ_OPT_STR('m', "model", "NAME|FILE", &model_arg, "model the prior is for"),
        MZ_OPT_STR('T', "table", "FILE", &table,
                   "loads table: TSV with columns layer, expert, share|count;\n"
                   "or a count set (SGLang counts, per-layer JSON, EPLB table)"),
        MZ_OPT_PARSE(0, "format", "F", &counts_format, parse_format,
                     "the count set's format: auto, sglang, layer-json, eplb", "auto"),
        MZ_OPT_PARSE(0, "layer-index", "I", &layer_index, parse_layer_index,
                     "count-set rows are block, moe or auto (see mz-import(1))", "auto"),
        MZ_OPT_LIST('S', "select", "COL=V[,V]", &select, &n_select,
                    "keep table rows whose COL is one of the values (repeatable)"),
        MZ_OPT_STR('r', "trace", "FILE", &trace, "count loads from a trace instead"),
        MZ_OPT_STR('F', "from", "MODEL", &from_arg, "the loads were measured on this other model"),
        MZ_OPT_DOUBLE(0, "coact", "X", &coact, 0, 50, "co-activation strength"),
        MZ_OPT_INT_D(0, "topic-size", "N", &tsize, 1, 1 << 30, "experts per latent topic", "top-k"),
        MZ_OPT_PARSE(0, "topic-layout", "L", &layout, parse_layout, "random, strided or blocked", "random"),
        MZ_OPT_INT(0, "topic-seed", "N", &tseed, 0, 1 << 30, "seed of the random topic layout"),
        MZ_OPT_DOUBLE(0, "seq-stick", "P", &seq_stick, 0, 1, "probability a token uses its sequence's topic"),
        MZ_OPT_DOUBLE(0, "layer-stick", "P", &layer_stick, 0, 1,
                      "probability a token keeps its previous layer's topic"),
        MZ_OPT_INT('i', "iters", "N", &iters, 1, 1 << 30, "fixed-point iterations"),
        MZ_OPT_INT('k', "tokens", "N", &tokens, 1, 1 << 26, "tokens sampled per iteration"),
        MZ_OPT_INT('s', "seed", "N", &seed, 0, 1 << 30, "seed of the fit's sampling and of shape dealing"),
        MZ_OPT_LIST('N', "note", "TEXT", &notes, &n_notes, "add a '#' provenance line (repeatable)"),
        MZ_OPT_STR('R', "report", "FILE", &report_path, "per-layer TSV: target vs fitted skew"),
        MZ_OPT_OUTPUT(&out_path, "prior file"),
        MZ_OPT_TABLE_END};
    const mz_opt_tool tool = {prog, USAGE, ABOUT, opts, NULL, 27};

    mz_tool_init();
    first = mz_opt_parse(&tool, argc, argv);
    if (first != argc)
        mz_opt_usage_error(&tool, "unexpected argument '%s'", argv[first]);
    if (!model_arg || !table == !trace) 
        mz_opt_usage_error(&tool, "need -m MODEL and exactly one of -T TABLE or -r TRACE");
    if (n_select && !table) 
        mz_opt_usage_error(&tool, "-S selects rows of a table (-T)");

    if (mz_model_load(model_arg, &m) < 0) mz_die(prog, "%s", mz_errmsg());
    src = m;
    if (from_arg && mz_model_load(from_arg, &src) < 0) mz_die(prog, "%s", mz_errmsg());
    /* the prior's and generator's tables, before they are built */
    if (mz_gen_check(&m, m.n_moe, tsize > 0 ? (int)tsize : m.topk) < 0) mz_die(prog, "%s: %s", model_arg, mz_errmsg());
    if (table && (counts_format = table_format(table, counts_format)) < 0) mz_die(prog, "%s", mz_errmsg());
    if (counts_format && n_select) mz_die(prog, "%s: -S selects rows of a loads table, not of a count set", table);
    if (counts_format) {
        if (mz_counts_read(table, &src, counts_format, layer_index, &loads, &counts_note) < 0 ||
            mz_loads_normalise(&loads, table) < 0)
            mz_die(prog, "%s", mz_errmsg());
    } else if ((table ? mz_loads_read_table(table, select, n_select, &loads) : mz_loads_from_trace(trace, &loads)) < 0) {
        mz_die(prog, "%s", mz_errmsg());
    }

    mz_prior_for_model(&m, &p);
    p.coact = coact;
    if (tsize) {
        if (tsize > m.experts) mz_die(prog, "--topic-size %d exceeds the %d experts", tsize, m.experts);
        p.topic_size = (int)tsize;
    }
    if (layout >= 0) p.topic_layout = layout;
    p.topic_seed = (unsigned long)tseed;
    p.seq_stick = seq_stick;
    p.layer_stick = layer_stick;
    free(p.share); /* NaN placeholders of mz_prior_for_model */
    p.share = mz_malloc((size_t)p.n_layers * m.experts * sizeof *p.share);

    mz_buf_printf(&note, "# routing prior for %s, fitted by mz-fit %s\n", m.name, MZ_VERSION);
    for (int i = 0; i < n_notes; i++) mz_buf_printf(&note, "# %s\n", notes[i]);
    mz_buf_printf(&note, "# loads: %s", table ? table : trace);
    for (int i = 0; i < n_select; i++) mz_buf_printf(&note, " %s", select[i]);
    if (from_arg) mz_buf_printf(&note, ", measured on %s", src.name);
    if (counts_format) mz_buf_printf(&note, " (%s)", counts_note.s);
    mz_buf_printf(&note, "\n# layers:\n");
    /* its errors are the loads' disagreements with the model: name their file */
    if (mz_fit_targets(&loads, from_arg ? &src : &m, &m, (unsigned long)seed, &p, &note) < 0)
        mz_die(prog, "%s: %s", table ? table : trace, mz_errmsg());
    fitted = mz_malloc((size_t)p.n_layers * m.experts * sizeof *fitted);
    if (mz_fit_logits(&p, &m, (int)iters, (int)tokens, (uint64_t)seed, fitted) < 0)
        mz_die(prog, "%s", mz_errmsg());

    /* how well the generator now reproduces the targets */
    {
        mz_out *rep = NULL;
        double worst = 0;
        if (report_path && !(rep = mz_out_open(report_path, 0))) mz_die(prog, "%s", mz_errmsg());
        if (rep)
            mz_out_puts(rep, "layer\tcv_target\tcv_fit\tmax_over_uniform_target\tmax_over_uniform_fit"
                             "\tentropy_target\tentropy_fit\n");
        for (int l = 0; l < p.n_layers; l++) {
            double a[3], b[3];
            mz_load_skew(p.share + (size_t)l * m.experts, m.experts, &a[0], &a[1], &a[2]);
            mz_load_skew(fitted + (size_t)l * m.experts, m.experts, &b[0], &b[1], &b[2]);
            for (int k = 0; k < 3; k++) worst = fmax(worst, fabs(b[k] / a[k] - 1));
            if (rep)
                mz_out_printf(rep, "%d\t%.4f\t%.4f\t%.3f\t%.3f\t%.4f\t%.4f\n", p.layers[l], a[0], b[0], a[1],
                              b[1], a[2], b[2]);
        }
        mz_buf_printf(&note,
                      "# fit: %d iterations of %d tokens, seed %d; worst relative error of the skew "
                      "(cv, max/uniform, entropy) over layers: %.1f%%\n",
                      iters, tokens, seed, 100 * worst);
        if (rep && mz_out_close(rep) < 0) mz_die(prog, "%s", mz_errmsg());
    }
    p.source = note.s;
    if (!(out = mz_out_open(out_path, 0))) mz_die(prog, "%s", mz_errmsg());
    if (mz_prior_write(&p, out) < 0 || mz_out_close(out) < 0) mz_die(prog, "%s", mz_errmsg());

    free(fitted);
    mz_buf_free(&counts_note);
    free(select);
    free(notes);
    mz_prior_free(&p);
    mz_loads_free(&loads);
    if (from_arg) mz_model_free(&src);
    mz_model_free(&m);
    return MZ_EXIT_OK;
}
