/* mz-trace: generate a routing trace for an MoE model from its routing prior. */
#include <stdlib.h>

#include "../lib/opt.h"

static const char *prog = "mz-trace";

#define USAGE "Usage: mz-trace -m MODEL [-n STEPS] [-b SEQS] [-L SEQ_LEN] [-s SEED] [options]\n"
#define ABOUT "Write a synthetic MoE routing trace (MZT) drawn from the model's routing prior.\n\n"

static int parse_layout(const char *arg, void *var)
{
    if ((*(int *)var = mz_layout_parse(arg)) < 0) mz_error("--topic-layout: '%s' is not random, strided or blocked", arg);
    return *(int *)var < 0 ? -1 : 0;
}

int main(int argc, char **argv)
{
    const char *out_path = "-";
    mz_trace_run_opts o;
    int first;

    mz_trace_run_opts_init(&o);
    o.prog = prog, o.argc = argc, o.argv = argv;
    const mz_opt opts[] = {
        MZ_OPT_STR('m', "model", "NAME|FILE", &o.model, "catalogue name (models/NAME.json) or a config.json path"),
        MZ_OPT_STR_D('p', "prior", "FILE", &o.prior, "routing prior", "models/NAME.prior, else built-in"),
        MZ_OPT_INT('n', "steps", "N", &o.steps, 1, 1 << 30, "training steps"),
        MZ_OPT_INT('b', "seqs", "N", &o.seqs, 1, 1 << 30, "sequences per step"),
        MZ_OPT_INT('L', "seq-len", "N", &o.seq_len, 1, 1 << 30, "tokens per sequence"),
        MZ_OPT_STR_D('l', "layers", "LIST", &o.layers, "MoE layers to trace, e.g. 0-3,7", "every MoE layer"),
        MZ_OPT_ULONG('s', "seed", "N", &o.seed, 1, 0xffffffffL, "random seed, 1-4294967295"),
        MZ_OPT_FLAG(0, "weights", &o.weights, "record gate weights"),
        {0, "coact", MZ_OPT_DOUBLE, "X", &o.coact, 0, 50, "co-activation strength (logit boost of a token's topic)",
         "prior", NULL, NULL},
        MZ_OPT_INT_D(0, "topic-size", "N", &o.topic_size, 1, 1 << 30, "experts per latent topic", "prior"),
        MZ_OPT_PARSE(0, "topic-layout", "L", &o.topic_layout, parse_layout, "random, strided or blocked", "prior"),
        {0, "seq-stick", MZ_OPT_DOUBLE, "P", &o.seq_stick, 0, 1, "probability a token uses its sequence's topic",
         "prior", NULL, NULL},
        {0, "layer-stick", MZ_OPT_DOUBLE, "P", &o.layer_stick, 0, 1,
         "probability a token keeps its previous layer's topic", "prior", NULL, NULL},
        {0, "skew", MZ_OPT_DOUBLE, "X", &o.skew, 0, 100, "multiply the popularity logits by X", "1", NULL, NULL},
        MZ_OPT_STREAM_OUTPUT(&out_path, "output file", &o.level, &o.text),
        MZ_OPT_TABLE_END};
    const mz_opt_tool tool = {prog, USAGE, ABOUT, opts, NULL, 25};

    mz_tool_init();
    first = mz_opt_parse(&tool, argc, argv);
    if (first < argc) mz_opt_usage_error(&tool, "unexpected argument '%s'", argv[first]);
    if (!o.model) mz_opt_usage_error(&tool, "no model given (-m)");
    mz_opt_check_form(&tool, o.level == 0, o.text);
    if (mz_trace_run(&o, out_path) < 0) mz_die(prog, "%s", mz_errmsg());
    return MZ_EXIT_OK;
}
