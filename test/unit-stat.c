/* unit-stat.c: unit tests of lib/stat.c and lib/runstat.c: skew, mutual information, co-activation, the accumulator, against values computed by hand; mz-stat's run on files. */
#include <dirent.h>
#include <stdlib.h>
#include <unistd.h>

#include "../lib/stat.h"
#include "unit.h"

#define TOL 1e-6

static void test_skew(void)
{
    uint64_t even[4] = {2, 2, 2, 2}, one[4] = {4, 0, 0, 0}, ramp[4] = {1, 2, 3, 4}, tie[3] = {5, 5, 1},
             zero[3] = {0, 0, 0};
    CHECK_NEAR(mz_stat_cv(even, 4), 0, TOL, "cv of even load");
    CHECK_NEAR(mz_stat_entropy_norm(even, 4), 1, TOL, "entropy of even load");
    CHECK_NEAR(mz_stat_gini(even, 4), 0, TOL, "gini of even load");
    /* {4,0,0,0}: mean 1, variance (9+1+1+1)/4 = 3 */
    CHECK_NEAR(mz_stat_cv(one, 4), sqrt(3.0), TOL, "cv of one hot expert");
    CHECK_NEAR(mz_stat_entropy_norm(one, 4), 0, TOL, "entropy of one hot expert");
    CHECK_NEAR(mz_stat_gini(one, 4), 0.75, TOL, "gini of one hot expert = (E-1)/E");
    /* {1,2,3,4}: sd sqrt(1.25) / mean 2.5; H = 1.2798542 nats / ln 4; gini 10/40 */
    CHECK_NEAR(mz_stat_cv(ramp, 4), sqrt(1.25) / 2.5, TOL, "cv of 1,2,3,4");
    CHECK_NEAR(mz_stat_entropy_norm(ramp, 4), 1.2798542258 / log(4), TOL, "entropy of 1,2,3,4");
    CHECK_NEAR(mz_stat_gini(ramp, 4), 0.25, TOL, "gini of 1,2,3,4");
    CHECK(mz_stat_hottest(ramp, 4) == 3, "hottest of 1,2,3,4 is 3");
    CHECK(mz_stat_hottest(tie, 3) == 0, "hottest on a tie is the lowest id");
    CHECK(isnan(mz_stat_cv(zero, 3)) && isnan(mz_stat_entropy_norm(zero, 3)) && isnan(mz_stat_gini(zero, 3)),
          "no selections: NaN");
}

static void test_mi(void)
{
    uint64_t diag[4] = {1, 0, 0, 1}, flat[4] = {1, 1, 1, 1}, mixed[4] = {2, 1, 1, 0}, none[4] = {0};
    CHECK_NEAR(mz_stat_mi_bits(diag, 2, 2), 1, TOL, "MI of a copy of a fair bit");
    CHECK_NEAR(mz_stat_mi_bits(flat, 2, 2), 0, TOL, "MI of independent bits");
    /* .5 log2(.5/.5625) + 2 * .25 log2(.25/.1875) */
    CHECK_NEAR(mz_stat_mi_bits(mixed, 2, 2), 0.5 * log2(0.5 / 0.5625) + 0.5 * log2(0.25 / 0.1875), TOL,
               "MI of {{2,1},{1,0}}");
    CHECK(isnan(mz_stat_mi_bits(none, 2, 2)), "MI of an empty table is NaN");
}

static void test_coact(void)
{
    /* tokens {0,1} x3, {0,2}, {1,2}, {2,3}: loads 4,4,3,1; pairs (0,1)=3, (0,2)=(1,2)=(2,3)=1 */
    uint64_t pair[16] = {0}, load[4] = {4, 4, 3, 1};
    double share, lift;
    pair[0 * 4 + 1] = 3, pair[0 * 4 + 2] = 1, pair[1 * 4 + 2] = 1, pair[2 * 4 + 3] = 1;
    /* Q = (12^2 - 42) / 2 = 51; expected (0,1) = 6 * 16 / 51 */
    CHECK(mz_stat_coact_top(pair, load, 4, 0.01, &share, &lift) == 0, "coact top 1%%: defined");
    CHECK_NEAR(share, 0.5, TOL, "top 1% of 6 pairs = 1 pair holding 3 of 6");
    CHECK_NEAR(lift, 3 / (6.0 * 16 / 51), TOL, "lift of the top pair");
    /* top 3 pairs: (0,1), then the ties (0,2) and (1,2) by lower i */
    mz_stat_coact_top(pair, load, 4, 0.5, &share, &lift);
    CHECK_NEAR(share, 5.0 / 6, TOL, "share of the top half of the pairs");
    CHECK_NEAR(lift, 5 / (6.0 * 40 / 51), TOL, "lift of the top half, ties by lower i");
    {
        uint64_t z[16] = {0};
        CHECK(mz_stat_coact_top(z, load, 4, 0.01, &share, &lift) < 0 && isnan(share), "no pairs: NaN");
    }
}

/* A 3-layer model of 4 experts, top-2, every layer MoE. */
static void tiny_trace(mz_trace_info *t, int l0, int l1)
{
    memset(t, 0, sizeof *t);
    snprintf(t->model.name, sizeof t->model.name, "tiny");
    t->model.layers = 3;
    t->model.moe = mz_malloc(3);
    memset(t->model.moe, 1, 3);
    t->model.n_moe = 3;
    t->model.experts = 4;
    t->model.topk = 2;
    t->steps = 1, t->seqs = 2, t->seq_len = 2;
    t->n_layers = 2;
    t->layers = mz_malloc(2 * sizeof *t->layers);
    t->layers[0] = l0, t->layers[1] = l1;
    t->id_bytes = 1;
}

/* Sequence (0,0): {0,1}|{2,3} twice; sequence (0,1): {2,3}|{0,1}, {0,2}|{1,3}. */
static void add_tokens(mz_stat *s, const mz_trace_info *t)
{
    static const uint16_t ids[4][4] = {{0, 1, 2, 3}, {0, 1, 2, 3}, {2, 3, 0, 1}, {0, 2, 1, 3}};
    mz_token tok;
    mz_token_alloc(t, &tok);
    for (int i = 0; i < 4; i++) {
        tok.step = 0, tok.seq = (uint32_t)(i / 2), tok.tok = (uint32_t)(i % 2);
        memcpy(tok.ids, ids[i], sizeof ids[i]);
        mz_stat_add(s, &tok);
    }
    mz_token_free(&tok);
}

static void test_accumulator(void)
{
    mz_trace_info t;
    mz_placement pl;
    mz_stat *s;
    const mz_stat_row *r;
    int n;
    tiny_trace(&t, 0, 1);
    /* a second layout: experts 0,2 on chiplet 0 and 1,3 on chiplet 1 */
    mz_placement_init(&pl, &t, 2, 1);
    for (int l = 0; l < 2; l++)
        for (int e = 0; e < 4; e++) pl.chiplet[l * 4 + e] = e % 2;
    s = mz_stat_new(&t, 2, 0, &pl);
    CHECK(s != NULL, "accumulator for 2 chiplets");
    add_tokens(s, &t);
    r = mz_stat_rows(s, &n);
    CHECK(n == 3 && r[0].layer == 0 && r[1].layer == 1 && r[2].layer == -1, "two layer rows and the all row");
    CHECK(r[0].tokens == 4 && r[2].tokens == 4, "4 tokens");
    /* layer 0 loads 3,2,2,1 */
    CHECK_NEAR(r[0].cv, sqrt(0.5) / 2, TOL, "layer 0 cv");
    CHECK(r[0].hottest == 0 && r[1].hottest == 3, "hottest experts 0 and 3");
    CHECK_NEAR(r[0].hottest_over_uniform, 1.5, TOL, "layer 0 hottest over uniform = 3/8 * 4");
    CHECK_NEAR(r[0].entropy_norm, -(0.375 * log(0.375) + 0.5 * log(0.25) + 0.125 * log(0.125)) / log(4), TOL,
               "layer 0 entropy");
    CHECK_NEAR(r[0].gini, 6.0 / 32, TOL, "layer 0 gini");
    /* pairs (0,1)=2, (2,3)=1, (0,2)=1: top 1 of 6 pairs holds 2 of 4; Q = (64-18)/2 = 23 */
    CHECK_NEAR(r[0].coact_share, 0.5, TOL, "layer 0 coact share");
    CHECK_NEAR(r[0].coact_lift, 2 / (4.0 * 3 * 2 / 23), TOL, "layer 0 coact lift");
    /* same-sequence pairs overlap 2 and 1; cross pairs 0,1,0,1 */
    CHECK_NEAR(r[0].seq_overlap, 1.5, TOL, "layer 0 within-sequence overlap");
    CHECK_NEAR(r[0].xseq_overlap, 0.5, TOL, "layer 0 cross-sequence overlap");
    CHECK_NEAR(r[0].seq_share, 3, TOL, "layer 0 sequence sharing ratio");
    CHECK_NEAR(r[1].seq_overlap, 1.5, TOL, "layer 1 within-sequence overlap");
    /* 16 pairs (e, e') over layers 0 and 1, worked out term by term */
    {
        double mi = 1 / 16.0 * log2(16.0 / 24) + 2 / 16.0 * log2(32.0 / 24) + 3 / 16.0 * log2(48.0 / 36) +
                    2 / 16.0 * log2(32.0 / 16) + 2 / 16.0 * log2(32.0 / 24) + 1 / 16.0 * log2(16.0 / 8) +
                    2 / 16.0 * log2(32.0 / 16) + 1 / 16.0 * log2(16.0 / 24) + 1 / 16.0 * log2(16.0 / 4) +
                    1 / 16.0 * log2(16.0 / 8);
        CHECK_NEAR(r[0].mi_next_bits, mi, TOL, "MI between layers 0 and 1");
        CHECK(isnan(r[1].mi_next_bits), "no MI for the last layer");
        CHECK_NEAR(r[2].mi_next_bits, mi, TOL, "all row MI = the one pair's");
    }
    /* contiguous on 2 chiplets: {0,1}->1, {2,3}->1, {0,2}->2 chiplets */
    CHECK_NEAR(r[0].ct_dedup, 1.25, TOL, "layer 0 C_T contiguous");
    CHECK_NEAR(r[1].ct_dedup, 1.25, TOL, "layer 1 C_T contiguous");
    CHECK_NEAR(r[0].ct_k, 2, TOL, "C_T without dedup = k");
    /* placement by parity: {0,1}->2, {2,3}->2, {0,2}->1 */
    CHECK_NEAR(r[0].ct_placed, 1.75, TOL, "layer 0 C_T under the placement");
    CHECK_NEAR(r[2].ct_dedup, 1.25, TOL, "all row C_T");
    CHECK_NEAR(r[2].cv, sqrt(0.5) / 2, TOL, "all row cv = mean of equal layer cvs");
    mz_stat_free(s);
    mz_placement_free(&pl);

    /* experts per chiplet: 3 per chiplet puts 0-2 on chiplet 0, 3 on chiplet 1 */
    s = mz_stat_new(&t, 0, 3, NULL);
    add_tokens(s, &t);
    r = mz_stat_rows(s, &n);
    CHECK(mz_stat_chiplets(s) == 2, "4 experts, 3 per chiplet: 2 chiplets");
    CHECK_NEAR(r[0].ct_dedup, (1 + 1 + 2 + 1) / 4.0, TOL, "layer 0 C_T with 3 experts per chiplet");
    CHECK(isnan(r[0].ct_placed), "no placement: NaN");
    mz_stat_free(s);
    mz_trace_info_free(&t);

    /* layers 0 and 2 are not adjacent: no MI */
    tiny_trace(&t, 0, 2);
    s = mz_stat_new(&t, 2, 0, NULL);
    add_tokens(s, &t);
    r = mz_stat_rows(s, &n);
    CHECK(isnan(r[0].mi_next_bits) && isnan(r[2].mi_next_bits), "layers 0 and 2: MI is NA");
    mz_stat_free(s);
    CHECK(mz_stat_new(&t, 5, 0, NULL) == NULL, "5 chiplets for 4 experts is an error");
    CHECK(mz_stat_new(&t, 2, 2, NULL) == NULL, "chiplets and experts per chiplet exclude each other");
    mz_trace_info_free(&t);
}

/* Counts survive the folding of the 16-bit tables (every 65535 tokens). */
static void test_long(void)
{
    mz_trace_info t;
    mz_stat *s;
    mz_token tok;
    const mz_stat_row *r;
    int n;
    long N = 200000;
    tiny_trace(&t, 0, 1);
    s = mz_stat_new(&t, 2, 0, NULL);
    mz_token_alloc(&t, &tok);
    for (long i = 0; i < N; i++) {
        /* one sequence per 100 tokens; layer 0 always {0,1}, layer 1 alternates */
        tok.step = 0, tok.seq = (uint32_t)(i / 100), tok.tok = (uint32_t)(i % 100);
        tok.ids[0] = 0, tok.ids[1] = 1;
        tok.ids[2] = (uint16_t)(i % 2 ? 2 : 0), tok.ids[3] = 3;
        mz_stat_add(s, &tok);
    }
    r = mz_stat_rows(s, &n);
    CHECK(r[0].tokens == (uint64_t)N, "200000 tokens counted");
    CHECK_NEAR(r[0].coact_share, 1, TOL, "layer 0: all co-activation in pair (0,1) after folding");
    CHECK_NEAR(r[0].seq_overlap, 2, TOL, "layer 0: every pair shares both experts");
    /* layer 1 is half {2,3}, half {0,3}, independent of layer 0's constant set: MI 0 */
    CHECK_NEAR(r[0].mi_next_bits, 0, TOL, "MI with a constant layer is 0");
    /* per sequence: 2 * C(50,2) same-kind pairs share 2, 50 * 50 mixed pairs share 1 (expert 3) */
    CHECK_NEAR(r[1].seq_overlap, (2 * 1225 * 2 + 2500 * 1) / 4950.0, TOL, "layer 1 within-sequence overlap");
    /* the exported pair counts are whole: 200000 is more than 16 bits hold */
    {
        char path[] = "/tmp/unit-stat.XXXXXX", line[256];
        int fd = mkstemp(path), found = 0;
        mz_out *out = mz_out_open(path, 0);
        FILE *fp;
        close(fd);
        CHECK(out && mz_stat_write_coact(s, out) == 0 && mz_out_close(out) == 0, "coact export written");
        fp = fopen(path, "r");
        while (fp && fgets(line, sizeof line, fp))
            if (strcmp(line, "0\t0\t1\t200000\n") == 0 || strcmp(line, "1\t0\t3\t100000\n") == 0 ||
                strcmp(line, "1\t2\t3\t100000\n") == 0)
                found++;
        if (fp) fclose(fp);
        unlink(path);
        CHECK(found == 3, "pairs (0,1) of layer 0 and (0,3), (2,3) of layer 1 counted in full (%d of 3 lines)", found);
    }
    mz_token_free(&tok);
    mz_stat_free(s);
    mz_trace_info_free(&t);
}

/* The whole contents of a file (malloc'ed), or NULL. */
static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "rb");
    mz_buf b = {0};
    char chunk[4096];
    size_t n;
    if (!fp) return NULL;
    mz_buf_printf(&b, "%s", "");
    while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0) mz_buf_printf(&b, "%.*s", (int)n, chunk);
    fclose(fp);
    return b.s;
}

/* Files in directory dir (".", ".." not counted). */
static int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    while (d && (e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    if (d) closedir(d);
    return n;
}

/* mz_stat_run on a text trace of add_tokens' tokens (tiny_trace, layers 0 and 1)
 * writes what the accumulator writes, under its two '#' lines; a truncated
 * trace is an error that leaves no file. */
static void test_run(void)
{
    static const char trace[] =
        "@HD\tVN:1.0\tKD:trace\n"
        "@MD\tname:tiny\tlayers:3\tmoe:0-2\texperts:4\tshared:0\ttopk:2\thidden:4\tffn:2\tshared_ffn:0\tdense_ffn:0"
        "\theads:1\tkv_heads:1\thead_dim:4\tvocab:10\tgroups:1\ttopk_groups:1\tgated:1\n"
        "@TR\tsteps:1\tseqs:2\tseq_len:2\tlayers:0-1\tweights:0\n"
        "0\t0\t0\t0,1\t2,3\n0\t0\t1\t0,1\t2,3\n0\t1\t0\t2,3\t0,1\n0\t1\t1\t0,2\t1,3\n@EOF\t4\n";
    char dir[] = "/tmp/unit-stat-run.XXXXXX", in[64], out[64], loads[64], want_path[64], cmd[128];
    char *got, *want, *got_loads, *want_loads;
    int ret;
    mz_stat_run_opts o;
    mz_trace_info t;
    mz_stat *s;
    mz_out *w;
    if (!mkdtemp(dir)) {
        CHECK(0, "mkdtemp");
        return;
    }
    snprintf(in, sizeof in, "%s/in.txt", dir);
    snprintf(out, sizeof out, "%s/out.tsv", dir);
    snprintf(loads, sizeof loads, "%s/loads.tsv", dir);
    CHECK(unit_write(in, trace, strlen(trace)) == 0, "the trace written");

    mz_stat_run_opts_init(&o);
    CHECK(o.chiplets == 0 && o.per_chiplet == 0 && !o.loads_path && !o.coact_path, "run options start unset");
    o.chiplets = 2;
    o.loads_path = loads;
    ret = mz_stat_run(&o, in, out);
    CHECK(ret == 0, "mz_stat_run on a 4-token text trace%s%s", ret ? ": " : "", ret ? mz_errmsg() : "");

    /* the same tokens through the accumulator */
    tiny_trace(&t, 0, 1);
    s = mz_stat_new(&t, 2, 0, NULL);
    add_tokens(s, &t);
    snprintf(want_path, sizeof want_path, "%s/want.tsv", dir);
    w = mz_out_open(want_path, 0);
    mz_out_printf(w, "#mz-stat\tinput:%s\tmodel:tiny\texperts:4\ttopk:2\tlayers:0-1\n"
                     "#layout:contiguous\tchiplets:2\tplacement:none\n", in);
    mz_stat_write(s, w);
    mz_out_close(w);
    got_loads = slurp(loads);
    w = mz_out_open(loads, 0);
    mz_stat_write_loads(s, w);
    mz_out_close(w);
    want_loads = slurp(loads);
    got = slurp(out);
    want = slurp(want_path);
    CHECK(got && want && strcmp(got, want) == 0, "the table is the accumulator's under the two '#' lines");
    CHECK(got_loads && want_loads && strcmp(got_loads, want_loads) == 0 && strstr(got_loads, "0\t0\t3\t0.375000\n"),
          "--loads: the accumulator's load vectors (expert 0 of layer 0: 3 of 8)");
    free(got), free(want), free(got_loads), free(want_loads);
    mz_stat_free(s);
    mz_trace_info_free(&t);
    unlink(out), unlink(loads), unlink(want_path);

    /* a trace cut before its last line: -1, the message, no output left */
    unit_write(in, trace, strlen(trace) - 8);
    o.coact_path = want_path;
    CHECK(mz_stat_run(&o, in, out) < 0 && strstr(mz_errmsg(), "in.txt: line 7: truncated"),
          "a truncated trace is an error naming its line (%s)", mz_errmsg());
    CHECK(count_files(dir) == 1, "and leaves no output behind (%d files, want 1: the input)", count_files(dir));
    unlink(in);
    CHECK(mz_stat_run(&o, in, out) < 0 && strstr(mz_errmsg(), "in.txt: No such file or directory"),
          "a missing input is an error (%s)", mz_errmsg());
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

int main(void)
{
    test_skew();
    test_mi();
    test_coact();
    test_accumulator();
    test_long();
    test_run();
    return unit_done();
}
