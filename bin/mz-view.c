/* mz-view: look at, select from, count and convert any mz stream (the samtools view of the toolkit). */
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

int main(int argc, char **argv)
{
    const char *out_path = "-";
    mz_view_opts o;
    int first;

    mz_view_opts_init(&o);
    o.prog = prog, o.argc = argc, o.argv = argv;
    const mz_opt opts[] = {
        MZ_OPT_FLAG('H', "header", &o.header_only, "print the header only"),
        MZ_OPT_FLAG('c', "count", &o.count_only, "print the number of records (after selection)"),
        MZ_OPT_FLAG('t', "text", &o.text, "write the stream in text form"),
        MZ_OPT_FLAG('b', "binary", &o.binary, "write the stream in binary form (gzip)"),
        MZ_OPT_SET('u', "uncompressed", &o.level, 0, "with -b: no gzip (for pipes)"),
        MZ_OPT_STR('n', "steps", "LIST", &o.steps, "keep these steps only, e.g. 0-3,7 (traces)"),
        MZ_OPT_STR('l', "layers", "LIST", &o.layers, "keep these MoE layers only (traces)"),
        MZ_OPT_OUTPUT(&out_path, "output file"),
        MZ_OPT_TABLE_END};
    const mz_opt_tool tool = {prog, USAGE, ABOUT, opts, TAIL, 23};

    mz_tool_init();
    first = mz_opt_parse(&tool, argc, argv);
    if (mz_view_check(&o, argc - first) < 0) mz_opt_usage_error(&tool, "%s", mz_errmsg());
    if (mz_view_run(&o, first < argc ? argv[first] : "-", out_path) < 0) mz_die(prog, "%s", mz_errmsg());
    return MZ_EXIT_OK;
}
