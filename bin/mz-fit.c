/* mz-fit: fit a routing prior (what mz-trace samples from) to measured expert loads. */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../lib/mz.h"

static const char *prog = "mz-fit";

#define USAGE "Usage: mz-fit -m MODEL (-T TABLE [-S COL=V[,V]]... | -r TRACE) [options] [-o PRIOR]\n"

static void usage(FILE *fp)
{
    fprintf(fp, USAGE
            "Fit a routing prior for MODEL so that traces drawn by mz-trace reproduce the\n"
            "measured per-layer expert loads. Layers without data get the load shape\n"
            "interpolated by depth between measured layers (see mz-fit(1)).\n"
            "\n"
            "  -m, --model NAME|FILE    model the prior is for\n"
            "  -T, --table FILE         loads table: TSV with columns layer, expert, share|count;\n"
            "                           or a count set (SGLang counts, per-layer JSON, EPLB table)\n"
            "      --format F           the count set's format: auto, sglang, layer-json, eplb [auto]\n"
            "      --layer-index I      count-set rows are block, moe or auto (see mz-import(1)) [auto]\n"
            "  -S, --select COL=V[,V]   keep table rows whose COL is one of the values (repeatable)\n"
            "  -r, --trace FILE         count loads from a trace instead\n"
            "  -F, --from MODEL         the loads were measured on this other model\n"
            "      --coact X            co-activation strength [%g]\n"
            "      --topic-size N       experts per latent topic [top-k]\n"
            "      --topic-layout L     random, strided or blocked [random]\n"
            "      --topic-seed N       seed of the random topic layout [%d]\n"
            "      --seq-stick P        probability a token uses its sequence's topic [%g]\n"
            "      --layer-stick P      probability a token keeps its previous layer's topic [%g]\n"
            "  -i, --iters N            fixed-point iterations [30]\n"
            "  -k, --tokens N           tokens sampled per iteration [20000]\n"
            "  -s, --seed N             seed of the fit's sampling and of shape dealing [1]\n"
            "  -N, --note TEXT          add a '#' provenance line (repeatable)\n"
            "  -R, --report FILE        per-layer TSV: target vs fitted skew\n"
            "  -o, --output FILE        prior file [-]\n"
            "  -h, --help               show this help\n"
            "      --version            show the version\n",
            MZ_DEFAULT_COACT, MZ_DEFAULT_TOPIC_SEED, MZ_DEFAULT_SEQ_STICK, MZ_DEFAULT_LAYER_STICK);
}

static void usage_error(void)
{
    fputs(USAGE "Try 'mz-fit --help' for more information.\n", stderr);
    exit(MZ_EXIT_USAGE);
}

enum { OPT_COACT = 256, OPT_TSIZE, OPT_TLAYOUT, OPT_TSEED, OPT_SEQSTICK, OPT_LAYERSTICK, OPT_VERSION, OPT_FORMAT,
       OPT_LAYERINDEX };

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
    static const struct option longopts[] = {
        {"model", required_argument, NULL, 'm'},       {"table", required_argument, NULL, 'T'},
        {"select", required_argument, NULL, 'S'},      {"trace", required_argument, NULL, 'r'},
        {"from", required_argument, NULL, 'F'},        {"coact", required_argument, NULL, OPT_COACT},
        {"topic-size", required_argument, NULL, OPT_TSIZE},
        {"topic-layout", required_argument, NULL, OPT_TLAYOUT},
        {"topic-seed", required_argument, NULL, OPT_TSEED},
        {"seq-stick", required_argument, NULL, OPT_SEQSTICK},
        {"layer-stick", required_argument, NULL, OPT_LAYERSTICK},
        {"iters", required_argument, NULL, 'i'},       {"tokens", required_argument, NULL, 'k'},
        {"seed", required_argument, NULL, 's'},        {"note", required_argument, NULL, 'N'},
        {"report", required_argument, NULL, 'R'},      {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},              {"version", no_argument, NULL, OPT_VERSION},
        {"format", required_argument, NULL, OPT_FORMAT}, {"layer-index", required_argument, NULL, OPT_LAYERINDEX},
        {NULL, 0, NULL, 0}};
    const char *model_arg = NULL, *table = NULL, *trace = NULL, *from_arg = NULL, *out_path = "-",
               *report_path = NULL;
    char **select = mz_malloc(argc * sizeof *select), **notes = mz_malloc(argc * sizeof *notes);
    int n_select = 0, n_notes = 0, layout = -1, c, counts_format = 0, layer_index = MZ_LAYERS_AUTO;
    mz_buf counts_note = {0};
    long tsize = 0, tseed = -1, iters = 30, tokens = 20000, seed = 1, v;
    double coact = -1, seq_stick = -1, layer_stick = -1, d;
    mz_model m, src;
    mz_loads loads;
    mz_prior p;
    mz_buf note = {0};
    mz_out *out;
    double *fitted;

    mz_tool_init();
    while ((c = getopt_long(argc, argv, "m:T:S:r:F:i:k:s:N:R:o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'm': model_arg = optarg; break;
        case 'T': table = optarg; break;
        case 'S': select[n_select++] = optarg; break;
        case 'r': trace = optarg; break;
        case 'F': from_arg = optarg; break;
        case 'N': notes[n_notes++] = optarg; break;
        case 'R': report_path = optarg; break;
        case 'o': out_path = optarg; break;
        case 'i':
        case 'k':
        case 's':
        case OPT_TSIZE:
        case OPT_TSEED: {
            const char *name = c == 'i' ? "--iters" : c == 'k' ? "--tokens" : c == 's' ? "--seed"
                               : c == OPT_TSIZE ? "--topic-size" : "--topic-seed";
            if (mz_parse_long(optarg, c == 's' || c == OPT_TSEED ? 0 : 1, c == 'k' ? 1L << 26 : 1L << 30,
                              name, &v) < 0) {
                mz_perror(prog);
                usage_error();
            }
            *(c == 'i' ? &iters : c == 'k' ? &tokens : c == 's' ? &seed : c == OPT_TSIZE ? &tsize : &tseed) = v;
            break;
        }
        case OPT_COACT:
        case OPT_SEQSTICK:
        case OPT_LAYERSTICK:
            if (mz_parse_double(optarg, 0, c == OPT_COACT ? 50 : 1,
                                c == OPT_COACT ? "--coact" : c == OPT_SEQSTICK ? "--seq-stick" : "--layer-stick",
                                &d) < 0) {
                mz_perror(prog);
                usage_error();
            }
            *(c == OPT_COACT ? &coact : c == OPT_SEQSTICK ? &seq_stick : &layer_stick) = d;
            break;
        case OPT_FORMAT:
            if ((counts_format = mz_counts_format_parse(optarg)) <= 0) {
                fprintf(stderr, "%s: --format: '%s' is not auto, sglang, layer-json or eplb\n", prog, optarg);
                usage_error();
            }
            break;
        case OPT_LAYERINDEX:
            if ((layer_index = mz_layer_index_parse(optarg)) < 0) {
                fprintf(stderr, "%s: --layer-index: '%s' is not auto, block or moe\n", prog, optarg);
                usage_error();
            }
            break;
        case OPT_TLAYOUT:
            if ((layout = mz_layout_parse(optarg)) < 0) {
                fprintf(stderr, "%s: --topic-layout: '%s' is not random, strided or blocked\n", prog, optarg);
                usage_error();
            }
            break;
        case 'h':
        case OPT_VERSION:
            if (c == 'h')
                usage(stdout);
            else
                mz_print_version(prog);
            free(select);
            free(notes);
            return mz_close_stdout() < 0 ? MZ_EXIT_DATA : MZ_EXIT_OK;
        default: usage_error();
        }
    }
    if (optind != argc) {
        fprintf(stderr, "%s: unexpected argument '%s'\n", prog, argv[optind]);
        usage_error();
    }
    if (!model_arg || !table == !trace) {
        fprintf(stderr, "%s: need -m MODEL and exactly one of -T TABLE or -r TRACE\n", prog);
        usage_error();
    }
    if (n_select && !table) {
        fprintf(stderr, "%s: -S selects rows of a table (-T)\n", prog);
        usage_error();
    }

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
    if (coact >= 0) p.coact = coact;
    if (tsize) {
        if (tsize > m.experts) mz_die(prog, "--topic-size %ld exceeds the %d experts", tsize, m.experts);
        p.topic_size = (int)tsize;
    }
    if (layout >= 0) p.topic_layout = layout;
    if (tseed >= 0) p.topic_seed = (unsigned long)tseed;
    if (seq_stick >= 0) p.seq_stick = seq_stick;
    if (layer_stick >= 0) p.layer_stick = layer_stick;
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
                      "# fit: %ld iterations of %ld tokens, seed %ld; worst relative error of the skew "
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
