/* mz-import: turn a real routing log (vLLM route-log JSONL, or TSV/CSV) into a trace, reporting its anomalies. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/mz.h"

static const char *prog = "mz-import";

static void usage(FILE *fp)
{
    fprintf(fp,
            "Usage: mz-import -m MODEL [-d KINDS] [-b SEQS] [-L SEQ_LEN] [-l LAYERS] [options] [FILE]\n"
            "Convert a real routing log into a trace (MZT). FILE is a vLLM route log (JSONL: a\n"
            "'meta' line, then 'route' lines) or a TSV/CSV of 'sequence token layer id...', plain\n"
            "or gzip; '-' or nothing reads standard input. Schema: man mz-import. A count set\n"
            "(SGLang count matrix, per-layer expert-load JSON, EPLB table) becomes a loads table.\n"
            "\n"
            "  -m, --model NAME|FILE  catalogue name (models/NAME.json) or a config.json path\n"
            "  -f, --format F         auto, jsonl, tsv or csv; or a count set: sglang, layer-json\n"
            "                         or eplb (written as a loads table for mz-fit) [auto]\n"
            "      --fields MAP       JSONL key names, e.g. ids=experts,weights=gating_probs,\n"
            "                         req=dataset+problem_id (req=- : no sequence id) [ours]\n"
            "      --layer-index I    count-set rows are block numbers, MoE layers in order,\n"
            "                         or either by the rule of mz-import(1): block, moe, auto [auto]\n"
            "      --packed-len N     report a log with one sequence id and a sequence longer\n"
            "                         than N tokens as packed batches; 0 = off [512]\n"
            "  -d, --drop KINDS       drop these anomalies instead of refusing the log: a list of\n"
            "                         range, duplicate, count, gap, repeat, warmup, or all [none]\n"
            "      --max-run N        identical routes in a row that make a warm-up run; 0 = off [64]\n"
            "  -b, --seqs N           sequences per step [32]\n"
            "  -L, --seq-len N        split sequences longer than N tokens [no split]\n"
            "  -l, --layers LIST      import these MoE layers only [the log's layers]\n"
            "      --weights          keep the gate weights (topk_weights)\n"
            "  -q, --quiet            do not list anomalies and the summary on stderr\n"
            "  -o, --output FILE      output file [-]\n"
            "  -u, --uncompressed     binary without gzip (for pipes)\n"
            "  -t, --text             text form instead of binary\n"
            "      --level N          gzip level 1-9 [1]\n"
            "  -h, --help             show this help\n"
            "      --version          show the version\n");
}

static void usage_error(void)
{
    fprintf(stderr, "Usage: mz-import -m MODEL [-d KINDS] [-b SEQS] [-L SEQ_LEN] [-l LAYERS] [options] [FILE]\n"
                    "Try 'mz-import --help' for more information.\n");
    exit(MZ_EXIT_USAGE);
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

enum { OPT_WEIGHTS = 256, OPT_MAXRUN, OPT_LEVEL, OPT_VERSION, OPT_FIELDS, OPT_LAYERINDEX, OPT_PACKED };

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
    static const struct option longopts[] = {
        {"model", required_argument, NULL, 'm'},    {"format", required_argument, NULL, 'f'},
        {"drop", required_argument, NULL, 'd'},     {"max-run", required_argument, NULL, OPT_MAXRUN},
        {"seqs", required_argument, NULL, 'b'},     {"seq-len", required_argument, NULL, 'L'},
        {"layers", required_argument, NULL, 'l'},   {"weights", no_argument, NULL, OPT_WEIGHTS},
        {"quiet", no_argument, NULL, 'q'},          {"output", required_argument, NULL, 'o'},
        {"uncompressed", no_argument, NULL, 'u'},   {"text", no_argument, NULL, 't'},
        {"level", required_argument, NULL, OPT_LEVEL}, {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, OPT_VERSION}, {"fields", required_argument, NULL, OPT_FIELDS},
        {"layer-index", required_argument, NULL, OPT_LAYERINDEX},
        {"packed-len", required_argument, NULL, OPT_PACKED}, {NULL, 0, NULL, 0}};
    const char *model_arg = NULL, *layers_arg = NULL, *out_path = "-", *in_path = "-";
    long seqs = 32, seq_len = 0, max_run = 64, level = 1, packed_len = 512, v;
    int text = 0, quiet = 0, c, *layers = NULL, layer_index = MZ_LAYERS_AUTO;
    mz_import_opts o = {0};
    mz_model m;
    mz_import *im;
    mz_header h = {0};
    mz_writer *w;
    const mz_import_counts *cnt;
    unsigned refused;

    mz_tool_init();
    o.format = MZ_IMPORT_AUTO;
    while ((c = getopt_long(argc, argv, "m:f:d:b:L:l:qo:uth", longopts, NULL)) != -1) {
        switch (c) {
        case 'm': model_arg = optarg; break;
        case 'f':
            if (strcmp(optarg, "auto") == 0)
                o.format = MZ_IMPORT_AUTO;
            else if (strcmp(optarg, "jsonl") == 0)
                o.format = MZ_IMPORT_JSONL;
            else if (strcmp(optarg, "tsv") == 0)
                o.format = MZ_IMPORT_TSV;
            else if (strcmp(optarg, "csv") == 0)
                o.format = MZ_IMPORT_CSV;
            else if (mz_counts_format_parse(optarg) > 0)
                o.format = MZ_IMPORT_COUNTS, o.counts_format = mz_counts_format_parse(optarg);
            else {
                fprintf(stderr, "%s: --format: '%s' is not auto, jsonl, tsv, csv, sglang, layer-json or eplb\n",
                        prog, optarg);
                usage_error();
            }
            break;
        case OPT_FIELDS: o.fields = optarg; break;
        case OPT_LAYERINDEX:
            if ((layer_index = mz_layer_index_parse(optarg)) < 0) {
                fprintf(stderr, "%s: --layer-index: '%s' is not auto, block or moe\n", prog, optarg);
                usage_error();
            }
            break;
        case 'd':
            if (mz_anomaly_parse(optarg, &o.drop) < 0) {
                mz_perror(prog);
                usage_error();
            }
            break;
        case 'l': layers_arg = optarg; break;
        case OPT_WEIGHTS: o.weights = 1; break;
        case 'q': quiet = 1; break;
        case 'o': out_path = optarg; break;
        case 'u': level = 0; break;
        case 't': text = 1; break;
        case 'b':
        case 'L':
        case OPT_MAXRUN:
        case OPT_PACKED:
        case OPT_LEVEL: {
            const char *name = c == 'b' ? "--seqs" : c == 'L' ? "--seq-len" : c == OPT_MAXRUN ? "--max-run"
                               : c == OPT_PACKED ? "--packed-len" : "--level";
            long lo = c == OPT_MAXRUN || c == OPT_PACKED ? 0 : 1,
                 hi = c == OPT_LEVEL ? 9 : c == OPT_MAXRUN ? 1000000 : 1L << 30;
            if (mz_parse_long(optarg, lo, hi, name, &v) < 0) {
                mz_perror(prog);
                usage_error();
            }
            if (c == OPT_MAXRUN && v == 1) {
                fprintf(stderr, "%s: --max-run: 1 would make every token a run; use 0 (off) or at least 2\n", prog);
                usage_error();
            }
            *(c == 'b' ? &seqs : c == 'L' ? &seq_len : c == OPT_MAXRUN ? &max_run : c == OPT_PACKED ? &packed_len : &level) = v;
            break;
        }
        case 'h': usage(stdout); return mz_close_stdout() < 0 ? MZ_EXIT_DATA : MZ_EXIT_OK;
        case OPT_VERSION: mz_print_version(prog); return mz_close_stdout() < 0 ? MZ_EXIT_DATA : MZ_EXIT_OK;
        default: usage_error();
        }
    }
    if (argc - optind > 1) {
        fprintf(stderr, "%s: one input file at most\n", prog);
        usage_error();
    }
    if (optind < argc) in_path = argv[optind];
    if (!model_arg) {
        fprintf(stderr, "%s: no model given (-m)\n", prog);
        usage_error();
    }
    if (o.weights && (o.format == MZ_IMPORT_TSV || o.format == MZ_IMPORT_CSV)) {
        fprintf(stderr, "%s: -w: TSV and CSV logs carry no gate weights\n", prog);
        usage_error();
    }

    if (mz_model_load(model_arg, &m) < 0) mz_die(prog, "%s", mz_errmsg());
    if (layers_arg) {
        if ((o.n_layers = mz_parse_ranges(layers_arg, 0, m.layers - 1, "--layers", &layers)) < 0)
            mz_die(prog, "%s", mz_errmsg());
        o.layers = layers;
    }
    o.seqs = (int)seqs, o.seq_len = (int)seq_len, o.max_run = (int)max_run, o.packed_len = (int)packed_len;
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
    if (!(w = mz_writer_open(out_path, MZ_KIND_TRACE, &h, text, (int)level))) mz_die(prog, "%s", mz_errmsg());
    if (!text && mz_writer_is_tty(w)) {
        mz_writer_abort(w);
        mz_die(prog, "refusing to write binary data to a terminal (use -o FILE, a pipe, or -t)");
    }
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
