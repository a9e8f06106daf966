/* mz-view: look at, select from, count and convert any mz stream (the samtools view of the toolkit). */
#include <stdlib.h>
#include <string.h>

#include "../lib/opt.h"

static const char *prog = "mz-view";

#define USAGE "Usage: mz-view [-H | -c | -t | -b [-u]] [-n STEPS] [-l LAYERS] [-o FILE] [FILE]\n"
#define ABOUT                                                                                               \
    "Show the header and a summary of an mz stream (trace or schedule), or convert it.\n"                     \
    "FILE is binary or text, gzip or plain; '-' or nothing reads standard input.\n"                           \
    "\n"
#define TAIL                                                                                                \
    "\n"                                                                                                     \
    "The summary gives, per traced layer, tokens, selections, the hottest expert and\n"                      \
    "its share of the layer's selections, and that share over the uniform share.\n"

/* Per-layer selection counts for the summary. */
typedef struct {
    uint64_t tokens;
    uint64_t *count; /* [n_layers * experts] */
} summary;

static void summary_print(mz_out *out, const mz_trace_info *t, const summary *s)
{
    int E = t->model.experts;
    uint64_t sel = s->tokens * t->model.topk;
    double mean = 0;
    mz_out_printf(out, "#summary\nlayer\ttokens\tselections\thottest_expert\thottest_share\thottest_over_uniform\n");
    for (int l = 0; l < t->n_layers; l++) {
        const uint64_t *c = s->count + (size_t)l * E;
        int best = 0;
        double share;
        for (int e = 0; e < E; e++)
            if (c[e] > c[best]) best = e;
        share = sel ? (double)c[best] / sel : 0;
        mean += share / t->n_layers;
        mz_out_printf(out, "%d\t%llu\t%llu\t%d\t%.4f\t%.2f\n", t->layers[l], (unsigned long long)s->tokens,
                      (unsigned long long)sel, best, share, share * E);
    }
    /* expert ids differ between layers: the all row averages the layers */
    mz_out_printf(out, "all\t%llu\t%llu\t-\t%.4f\t%.2f\n", (unsigned long long)s->tokens,
                  (unsigned long long)sel * t->n_layers, mean, mean * E);
}

/* Trace records come ordered by (step, sequence, token), each token once,
 * as mz_trace_next requires of every other reader. Returns 0 or -1. */
static int check_order(uint32_t last[3], int *have_last, const mz_token *tok)
{
    uint32_t cur[3] = {tok->step, tok->seq, tok->tok};
    if (*have_last) {
        int i = 0;
        while (i < 3 && cur[i] == last[i]) i++;
        if (i == 3) {
            mz_error("token %u/%u/%u appears twice", cur[0], cur[1], cur[2]);
            return -1;
        }
        if (cur[i] < last[i]) {
            mz_error("token %u/%u/%u comes after %u/%u/%u (records must be ordered by step, sequence, token)",
                     cur[0], cur[1], cur[2], last[0], last[1], last[2]);
            return -1;
        }
    }
    memcpy(last, cur, sizeof cur);
    *have_last = 1;
    return 0;
}

/* Is v in the sorted list? */
static int in_list(const int *list, int n, int v)
{
    int lo = 0, hi = n - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (list[mid] == v) return 1;
        if (list[mid] < v)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    int header_only = 0, count_only = 0, text = 0, binary = 0, level = 1, first;
    const char *steps_arg = NULL, *layers_arg = NULL, *out_path = "-", *in_path = "-";
    int *steps = NULL, n_steps = 0, *keep = NULL, n_keep = 0;
    mz_reader *r;
    mz_trace_info in_t = {0}, out_t = {0};
    mz_token tok = {0}, otok = {0};
    uint8_t *orec = NULL;
    int is_trace, selecting;
    mz_header h;
    mz_writer *w = NULL;
    mz_out *out = NULL;
    summary sum = {0};
    const uint8_t *rec;
    size_t len;
    uint64_t kept = 0;
    int ret;
    const mz_codec *codec = NULL; /* other kinds: records checked through their codec */
    void *cctx = NULL;
    mz_buf scratch = {0};
    uint32_t last[3] = {0};
    int have_last = 0;

    const mz_opt opts[] = {
        MZ_OPT_FLAG('H', "header", &header_only, "print the header only"),
        MZ_OPT_FLAG('c', "count", &count_only, "print the number of records (after selection)"),
        MZ_OPT_FLAG('t', "text", &text, "write the stream in text form"),
        MZ_OPT_FLAG('b', "binary", &binary, "write the stream in binary form (gzip)"),
        MZ_OPT_SET('u', "uncompressed", &level, 0, "with -b: no gzip (for pipes)"),
        MZ_OPT_STR('n', "steps", "LIST", &steps_arg, "keep these steps only, e.g. 0-3,7 (traces)"),
        MZ_OPT_STR('l', "layers", "LIST", &layers_arg, "keep these MoE layers only (traces)"),
        MZ_OPT_OUTPUT(&out_path, "output file"),
        MZ_OPT_TABLE_END};
    const mz_opt_tool tool = {prog, USAGE, ABOUT, opts, TAIL, 23};

    mz_tool_init();
    first = mz_opt_parse(&tool, argc, argv);
    if (argc - first > 1) 
        mz_opt_usage_error(&tool, "one input file at most");
    if (first < argc) in_path = argv[first];
    if (header_only + count_only + text + binary > 1) 
        mz_opt_usage_error(&tool, "-H, -c, -t and -b exclude each other");
    if (level == 0 && !binary) 
        mz_opt_usage_error(&tool, "-u goes with -b");

    if (!(r = mz_reader_open(in_path, 0))) mz_die(prog, "%s", mz_errmsg());
    is_trace = mz_reader_kind(r) == MZ_KIND_TRACE;
    selecting = steps_arg || layers_arg;
    if (selecting && !is_trace) mz_die(prog, "%s: -s and -l select from traces only", in_path);
    mz_header_copy(&h, mz_reader_header(r));
    if (is_trace) {
        if (mz_trace_info_from_header(&h, &in_t) < 0) mz_die(prog, "%s: %s", in_path, mz_errmsg());
        mz_token_alloc(&in_t, &tok);
        if (steps_arg && (n_steps = mz_parse_ranges(steps_arg, 0, in_t.steps - 1, "--steps", &steps)) < 0)
            mz_die(prog, "%s", mz_errmsg());
        /* the output geometry: the selected layers only */
        mz_trace_info_from_header(&h, &out_t);
        if (layers_arg) {
            int *want, n_want = mz_parse_ranges(layers_arg, 0, in_t.model.layers - 1, "--layers", &want);
            if (n_want < 0) mz_die(prog, "%s", mz_errmsg());
            keep = mz_malloc(n_want * sizeof *keep);
            for (int i = 0; i < n_want; i++) {
                int j = 0;
                while (j < in_t.n_layers && in_t.layers[j] != want[i]) j++;
                if (j == in_t.n_layers) mz_die(prog, "--layers: layer %d is not in the trace", want[i]);
                keep[n_keep++] = j;
                out_t.layers[i] = want[i];
            }
            out_t.n_layers = n_want;
            free(want);
            mz_trace_info_to_header(&out_t, &h);
        }
        mz_token_alloc(&out_t, &otok);
        orec = mz_malloc(mz_trace_record_size(&out_t));
        sum.count = mz_calloc((size_t)out_t.n_layers * out_t.model.experts, sizeof *sum.count);
    } else {
        /* a count or a copy vouches for the records too: check each against
         * the header, as mz_token_decode checks a trace's */
        codec = mz_codec_for(mz_reader_kind(r));
        if (!(cctx = codec->init(&h))) mz_die(prog, "%s: %s", in_path, mz_errmsg());
    }

    if (text || binary) {
        /* a conversion leaves the data as it was, so only a selection is provenance */
        if (selecting) mz_header_add_pg(&h, prog, argc, argv);
        if (!(w = mz_writer_open(out_path, mz_reader_kind(r), &h, text, level)))
            mz_die(prog, "%s", mz_errmsg());
        if (binary && mz_opt_refuse_tty(w) < 0) mz_die(prog, "%s", mz_errmsg());
    } else {
        if (!(out = mz_out_open(out_path, 0))) mz_die(prog, "%s", mz_errmsg());
        if (!count_only) {
            mz_buf b = {0};
            mz_header_text(&h, &b);
            mz_out_write(out, b.s, b.n);
            mz_buf_free(&b);
        }
    }
    if (header_only) goto done;

    while ((ret = mz_reader_next(r, &rec, &len)) > 0) {
        if (is_trace) {
            if (mz_token_decode(&in_t, rec, len, &tok) < 0 || check_order(last, &have_last, &tok) < 0)
                goto bad_record;
            if (steps && !in_list(steps, n_steps, (int)tok.step)) continue;
            if (keep) {
                int k = in_t.model.topk;
                otok.step = tok.step, otok.seq = tok.seq, otok.tok = tok.tok;
                for (int i = 0; i < n_keep; i++) {
                    memcpy(otok.ids + (size_t)i * k, tok.ids + (size_t)keep[i] * k, k * sizeof *otok.ids);
                    if (in_t.weights)
                        memcpy(otok.w + (size_t)i * k, tok.w + (size_t)keep[i] * k, k * sizeof *otok.w);
                }
                mz_token_encode(&out_t, &otok, orec);
                rec = orec;
                len = mz_trace_record_size(&out_t);
            } else if (!w && !count_only) {
                memcpy(otok.ids, tok.ids, (size_t)in_t.n_layers * in_t.model.topk * sizeof *tok.ids);
            }
            /* the summary's counts, only when the summary is printed */
            if (!w && !count_only) {
                sum.tokens++;
                for (int i = 0; i < out_t.n_layers; i++)
                    for (int j = 0; j < out_t.model.topk; j++)
                        sum.count[(size_t)i * out_t.model.experts + otok.ids[(size_t)i * out_t.model.topk + j]]++;
            }
        } else {
            scratch.n = 0;
            if (codec->to_text(cctx, rec, len, &scratch) < 0) goto bad_record;
        }
        kept++;
        if (w && mz_writer_put(w, rec, len) < 0) {
            mz_writer_abort(w);
            mz_die(prog, "%s", mz_errmsg());
        }
    }
    if (ret < 0) goto bad;
    if (w) {
        if (mz_writer_close(w) < 0) mz_die(prog, "%s", mz_errmsg());
        w = NULL;
    } else if (count_only) {
        mz_out_printf(out, "%llu\n", (unsigned long long)kept);
    } else if (is_trace) {
        summary_print(out, &out_t, &sum);
    } else {
        mz_out_printf(out, "#summary\nrecords\n%llu\n", (unsigned long long)kept);
    }
done:
    if (out && mz_out_close(out) < 0) mz_die(prog, "%s", mz_errmsg());
    if (mz_reader_close(r) < 0) mz_die(prog, "%s", mz_errmsg());
    free(steps);
    free(keep);
    free(orec);
    free(sum.count);
    mz_token_free(&tok);
    mz_token_free(&otok);
    mz_trace_info_free(&in_t);
    mz_trace_info_free(&out_t);
    mz_header_free(&h);
    if (cctx) codec->done(cctx);
    mz_buf_free(&scratch);
    return MZ_EXIT_OK;
bad_record: {
    mz_error_prefix("%s", mz_reader_where(r));
}
bad:
    if (w) mz_writer_abort(w);
    if (out) mz_out_abort(out);
    free(orec);
    free(sum.count);
    mz_token_free(&tok);
    mz_token_free(&otok);
    mz_die(prog, "%s", mz_errmsg());
}
