/* mz-trace: generate a routing trace for an MoE model from its routing prior. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/mz.h"

static const char *prog = "mz-trace";

static void usage(FILE *fp)
{
    fprintf(fp,
            "Usage: mz-trace -m MODEL [-n STEPS] [-b SEQS] [-L SEQ_LEN] [-s SEED] [options]\n"
            "Write a synthetic MoE routing trace (MZT) drawn from the model's routing prior.\n"
            "\n"
            "  -m, --model NAME|FILE  catalogue name (models/NAME.json) or a config.json path\n"
            "  -p, --prior FILE       routing prior [models/NAME.prior, else built-in]\n"
            "  -n, --steps N          training steps [1]\n"
            "  -b, --seqs N           sequences per step [32]\n"
            "  -L, --seq-len N        tokens per sequence [256]\n"
            "  -l, --layers LIST      MoE layers to trace, e.g. 0-3,7 [every MoE layer]\n"
            "  -s, --seed N           random seed, 1-4294967295 [1]\n"
            "      --weights          record gate weights\n"
            "      --coact X          co-activation strength (logit boost of a token's topic) [prior]\n"
            "      --topic-size N     experts per latent topic [prior]\n"
            "      --topic-layout L   random, strided or blocked [prior]\n"
            "      --seq-stick P      probability a token uses its sequence's topic [prior]\n"
            "      --layer-stick P    probability a token keeps its previous layer's topic [prior]\n"
            "      --skew X           multiply the popularity logits by X [1]\n"
            "  -o, --output FILE      output file [-]\n"
            "  -u, --uncompressed     binary without gzip (for pipes)\n"
            "  -t, --text             text form instead of binary\n"
            "      --level N          gzip level 1-9 [1]\n"
            "  -h, --help             show this help\n"
            "      --version          show the version\n");
}

static void usage_error(void)
{
    fprintf(stderr, "Usage: mz-trace -m MODEL [-n STEPS] [-b SEQS] [-L SEQ_LEN] [-s SEED] [options]\n"
                    "Try 'mz-trace --help' for more information.\n");
    exit(MZ_EXIT_USAGE);
}

enum { OPT_WEIGHTS = 256, OPT_COACT, OPT_TSIZE, OPT_TLAYOUT, OPT_SEQSTICK, OPT_LAYERSTICK, OPT_SKEW, OPT_LEVEL,
       OPT_VERSION };

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"model", required_argument, NULL, 'm'},     {"prior", required_argument, NULL, 'p'},
        {"steps", required_argument, NULL, 'n'},     {"seqs", required_argument, NULL, 'b'},
        {"seq-len", required_argument, NULL, 'L'},   {"layers", required_argument, NULL, 'l'},
        {"seed", required_argument, NULL, 's'},      {"weights", no_argument, NULL, OPT_WEIGHTS},
        {"coact", required_argument, NULL, OPT_COACT}, {"topic-size", required_argument, NULL, OPT_TSIZE},
        {"topic-layout", required_argument, NULL, OPT_TLAYOUT},
        {"seq-stick", required_argument, NULL, OPT_SEQSTICK},
        {"layer-stick", required_argument, NULL, OPT_LAYERSTICK},
        {"skew", required_argument, NULL, OPT_SKEW}, {"output", required_argument, NULL, 'o'},
        {"uncompressed", no_argument, NULL, 'u'},    {"text", no_argument, NULL, 't'},
        {"level", required_argument, NULL, OPT_LEVEL}, {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, OPT_VERSION}, {NULL, 0, NULL, 0}};
    const char *model_arg = NULL, *prior_arg = NULL, *layers_arg = NULL, *out_path = "-";
    long steps = 1, seqs = 32, seq_len = 256, seed = 1, level = 1, tsize = 0, v;
    double coact = -1, seq_stick = -1, layer_stick = -1, skew = -1;
    int layout = -1, text = 0, weights = 0, uncompressed = 0, c;
    char *prior_path = NULL;
    mz_trace_info ti;
    mz_prior prior;
    mz_header h = {0};
    mz_writer *w;
    mz_gen *g;
    mz_token tok;
    uint8_t *rec;

    mz_tool_init();
    while ((c = getopt_long(argc, argv, "m:p:n:b:L:l:s:o:uth", longopts, NULL)) != -1) {
        switch (c) {
        case 'm': model_arg = optarg; break;
        case 'p': prior_arg = optarg; break;
        case 'l': layers_arg = optarg; break;
        case 'o': out_path = optarg; break;
        case OPT_WEIGHTS: weights = 1; break;
        case 'u': uncompressed = 1; break;
        case 't': text = 1; break;
        case 'n':
        case 'b':
        case 'L':
        case 's':
        case OPT_TSIZE:
        case OPT_LEVEL: {
            const char *name = c == 'n' ? "--steps" : c == 'b' ? "--seqs" : c == 'L' ? "--seq-len"
                               : c == 's' ? "--seed" : c == OPT_TSIZE ? "--topic-size" : "--level";
            long lo = 1, hi = c == 's' ? 0xffffffffL : c == OPT_LEVEL ? 9 : 1L << 30;
            if (mz_parse_long(optarg, lo, hi, name, &v) < 0) {
                mz_perror(prog);
                usage_error();
            }
            *(c == 'n' ? &steps : c == 'b' ? &seqs : c == 'L' ? &seq_len : c == 's' ? &seed
              : c == OPT_TSIZE ? &tsize : &level) = v;
            break;
        }
        case OPT_COACT:
        case OPT_SEQSTICK:
        case OPT_LAYERSTICK:
        case OPT_SKEW: {
            const char *name = c == OPT_COACT ? "--coact" : c == OPT_SEQSTICK ? "--seq-stick"
                               : c == OPT_LAYERSTICK ? "--layer-stick" : "--skew";
            double hi = c == OPT_COACT ? 50 : c == OPT_SKEW ? 100 : 1, d;
            if (mz_parse_double(optarg, 0, hi, name, &d) < 0) {
                mz_perror(prog);
                usage_error();
            }
            *(c == OPT_COACT ? &coact : c == OPT_SEQSTICK ? &seq_stick
              : c == OPT_LAYERSTICK ? &layer_stick : &skew) = d;
            break;
        }
        case OPT_TLAYOUT:
            if ((layout = mz_layout_parse(optarg)) < 0) {
                fprintf(stderr, "%s: --topic-layout: '%s' is not random, strided or blocked\n", prog, optarg);
                usage_error();
            }
            break;
        case 'h':
            usage(stdout);
            if (mz_close_stdout() < 0) mz_die(prog, "%s", mz_errmsg());
            return MZ_EXIT_OK;
        case OPT_VERSION:
            mz_print_version(prog);
            if (mz_close_stdout() < 0) mz_die(prog, "%s", mz_errmsg());
            return MZ_EXIT_OK;
        default: usage_error();
        }
    }
    if (optind != argc) {
        fprintf(stderr, "%s: unexpected argument '%s'\n", prog, argv[optind]);
        usage_error();
    }
    if (!model_arg) {
        fprintf(stderr, "%s: no model given (-m)\n", prog);
        usage_error();
    }

    memset(&ti, 0, sizeof ti);
    if (mz_model_load(model_arg, &ti.model) < 0) mz_die(prog, "%s", mz_errmsg());
    ti.steps = (int)steps, ti.seqs = (int)seqs, ti.seq_len = (int)seq_len;
    ti.weights = weights;
    ti.id_bytes = ti.model.experts <= 256 ? 1 : 2;
    if (layers_arg) {
        if ((ti.n_layers = mz_parse_ranges(layers_arg, 0, ti.model.layers - 1, "--layers", &ti.layers)) < 0)
            mz_die(prog, "%s", mz_errmsg());
        for (int i = 0; i < ti.n_layers; i++)
            if (!ti.model.moe[ti.layers[i]])
                mz_die(prog, "--layers: layer %d of %s is dense, not MoE", ti.layers[i], ti.model.name);
    } else {
        ti.layers = mz_malloc(ti.model.n_moe * sizeof *ti.layers);
        for (int l = 0; l < ti.model.layers; l++)
            if (ti.model.moe[l]) ti.layers[ti.n_layers++] = l;
    }

    /* the tables the geometry asks for, before the prior's are built (the
     * built-in prior's topics are top-k experts) */
    if (mz_gen_check(&ti.model, ti.n_layers, tsize > 0 ? (int)tsize : ti.model.topk) < 0)
        mz_die(prog, "%s: %s", model_arg, mz_errmsg());
    /* the routing prior: given, the catalogue's, or built in */
    if (prior_arg) {
        if (!(prior_path = mz_find_data(prior_arg)) || mz_prior_read(prior_path, &prior) < 0)
            mz_die(prog, "%s", mz_errmsg());
    } else {
        char name[MZ_NAME_MAX + 8];
        snprintf(name, sizeof name, "%s.prior", ti.model.name);
        if (!strchr(model_arg, '/') && (prior_path = mz_find_data(name))) {
            if (mz_prior_read(prior_path, &prior) < 0) mz_die(prog, "%s", mz_errmsg());
        } else {
            mz_prior_builtin(&ti.model, &prior);
        }
    }
    if (mz_prior_check(&prior, &ti.model, prior_path ? prior_path : "built-in prior") < 0)
        mz_die(prog, "%s", mz_errmsg());
    if (coact >= 0) prior.coact = coact;
    if (tsize > 0) {
        if (tsize > ti.model.experts) mz_die(prog, "--topic-size %ld exceeds the %d experts", tsize, ti.model.experts);
        prior.topic_size = (int)tsize;
    }
    if (layout >= 0) prior.topic_layout = layout;
    if (seq_stick >= 0) prior.seq_stick = seq_stick;
    if (layer_stick >= 0) prior.layer_stick = layer_stick;
    if (skew >= 0) prior.skew = skew;

    mz_trace_info_to_header(&ti, &h);
    {
        const char *base = prior_path ? strrchr(prior_path, '/') : NULL;
        mz_header_add(&h,
                      "@GN\tprior:%s\tseed:%ld\tcoact:%g\ttopic_size:%d\ttopic_layout:%s\ttopic_seed:%lu"
                      "\tseq_stick:%g\tlayer_stick:%g\tskew:%g",
                      prior_path ? (base ? base + 1 : prior_path) : "built-in", seed, prior.coact,
                      prior.topic_size, mz_layout_name(prior.topic_layout), prior.topic_seed,
                      prior.seq_stick, prior.layer_stick, prior.skew);
    }
    {
        /* what -m and -p named, as resolved (mz_find_data's rule) */
        char *model_path = mz_model_find(model_arg);
        const char *keys[] = {"model", "prior"}, *paths[] = {model_path, prior_path};
        mz_header_add_pg_resolved(&h, prog, argc, argv, 2, keys, paths);
        free(model_path);
    }

    /* the generator first: its tables are checked against the limit before
     * anything is written */
    if (!(g = mz_gen_new(&ti, &prior, (uint64_t)seed))) mz_die(prog, "%s: %s", model_arg, mz_errmsg());
    if (!(w = mz_writer_open(out_path, MZ_KIND_TRACE, &h, text, uncompressed ? 0 : (int)level))) mz_die(prog, "%s", mz_errmsg());
    if (!text && mz_writer_is_tty(w)) {
        mz_writer_abort(w);
        mz_die(prog, "refusing to write binary data to a terminal (use -o FILE, a pipe, or -t)");
    }
    mz_token_alloc(&ti, &tok);
    rec = mz_malloc(mz_trace_record_size(&ti));
    for (long s = 0; s < steps; s++)
        for (long q = 0; q < seqs; q++) {
            mz_gen_sequence(g);
            for (long t = 0; t < seq_len; t++) {
                tok.step = (uint32_t)s, tok.seq = (uint32_t)q, tok.tok = (uint32_t)t;
                mz_gen_token(g, &tok);
                mz_token_encode(&ti, &tok, rec);
                if (mz_writer_put(w, rec, mz_trace_record_size(&ti)) < 0) {
                    mz_writer_abort(w);
                    mz_die(prog, "%s", mz_errmsg());
                }
            }
        }
    if (mz_writer_close(w) < 0) mz_die(prog, "%s", mz_errmsg());
    free(rec);
    mz_token_free(&tok);
    mz_gen_free(g);
    mz_prior_free(&prior);
    free(prior_path);
    mz_header_free(&h);
    mz_trace_info_free(&ti);
    return MZ_EXIT_OK;
}
