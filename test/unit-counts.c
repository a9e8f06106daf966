/* unit-counts.c: unit tests of lib/counts.c and lib/placemap.c: count-set formats, the layer rule, placement maps and replicas; mz_import_run (lib/runimport.c). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/place.h"
#include "unit.h"

static char dir[] = "/tmp/mz-unit-counts-XXXXXX";

static int errmsg_has(const char *s) { return strstr(mz_errmsg(), s) != NULL; }

/* A file in the scratch directory with this content; returns its path (static). */
static const char *file(const char *name, const char *text)
{
    static char path[256];
    FILE *fp;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    fp = fopen(path, "w");
    fputs(text, fp);
    fclose(fp);
    return path;
}

/* A model from its @MD line: 6 blocks, MoE in 2-5, 4 experts. */
static void tiny(mz_model *m)
{
    const char *md = "@MD\tname:tiny6\tlayers:6\tmoe:2-5\texperts:4\tshared:0\ttopk:2\thidden:4\tffn:2\tshared_ffn:0"
                     "\tdense_ffn:8\theads:1\tkv_heads:1\thead_dim:4\tvocab:10\tgroups:1\ttopk_groups:1\tgated:1\n";
    mz_header h;
    mz_header_parse(&h, md, strlen(md));
    mz_model_from_header(&h, m);
    mz_header_free(&h);
}

static void test_sniff(void)
{
    static const struct {
        const char *text;
        int want;
    } c[] = {
        {"{\"0\": [1, 2]}", MZ_COUNTS_LAYER_JSON},
        {"  {\n \"counts\": [[1]]}", MZ_COUNTS_SGLANG},
        {"{\"num_layers\": 2}", MZ_COUNTS_SGLANG},
        {"{\"type\": \"meta\"}\n", 0},
        {"{\"req_id\": \"r1\", \"token_idx\": 0}\n", 0},
        {"# a comment\nlayer expert count\n1 2 3\n", MZ_COUNTS_EPLB},
        {"3,1,7\n", MZ_COUNTS_EPLB},
        {"a,0,0,1,2,3,4\n", 0},
        {"seq\ttoken\tlayer\te1\n", 0},
    };
    for (size_t i = 0; i < sizeof c / sizeof *c; i++)
    {
        char shown[40];
        size_t k = 0;
        for (const char *q = c[i].text; *q && k + 1 < sizeof shown; q++) shown[k++] = *q == '\n' ? '|' : *q;
        shown[k] = '\0';
        CHECK(mz_counts_sniff(c[i].text, strlen(c[i].text)) == c[i].want, "sniff '%s' -> %d", shown, c[i].want);
    }
}

static void test_layer_rule(void)
{
    mz_model m;
    mz_loads d;
    mz_buf note = {0};
    tiny(&m);
    /* 4 rows, keys 0-3: not all MoE blocks (0, 1 are dense), all below 4 MoE layers: MoE order */
    CHECK(mz_counts_read(file("a.json", "{\"0\": [1,1,1,1], \"1\": [2,2,2,2], \"2\": [0,0,0,0], \"3\": [1,2,3,4]}"), &m,
                         MZ_COUNTS_AUTO, MZ_LAYERS_AUTO, &d, &note) == 0 &&
              d.n_layers == 3 && d.layer[0] == 2 && d.layer[1] == 3 && d.layer[2] == 5 && d.share[2 * 4 + 3] == 4,
          "keys 0-3 of a model with MoE blocks 2-5 are MoE layers in order; the zero row is dropped (%s)", note.s);
    mz_loads_free(&d);
    note.n = 0;
    /* keys that are all MoE blocks: blocks */
    CHECK(mz_counts_read(file("b.json", "{\"2\": [1,1,1,1], \"5\": [1,0,0,0]}"), &m, 0, MZ_LAYERS_AUTO, &d, NULL) == 0 &&
              d.n_layers == 2 && d.layer[0] == 2 && d.layer[1] == 5,
          "keys 2 and 5 are blocks");
    mz_loads_free(&d);
    /* a row per block with zero dense rows: blocks */
    CHECK(mz_counts_read(file("c.json", "{\"counts\": [[0,0,0,0],[0,0,0,0],[1,1,1,1],[1,1,1,1],[1,1,1,1],[9,9,9,9]]}"), &m,
                         0, MZ_LAYERS_AUTO, &d, NULL) == 0 &&
              d.n_layers == 4 && d.layer[3] == 5 && d.share[3 * 4] == 9,
          "a row per block: blocks");
    mz_loads_free(&d);
    /* a dense row with counts in a matrix of every block: neither */
    CHECK(mz_counts_read(file("d.json", "{\"counts\": [[1,0,0,0],[0,0,0,0],[1,1,1,1],[1,1,1,1],[1,1,1,1],[9,9,9,9]]}"), &m,
                         0, MZ_LAYERS_AUTO, &d, NULL) < 0 &&
              errmsg_has("6 rows (sglang) fit neither the blocks nor the MoE layers of tiny6"),
          "a dense block's counts are refused (%s)", mz_errmsg());
    CHECK(mz_counts_read(file("e.json", "{\"0\": [1,1,1,1]}"), &m, 0, MZ_LAYERS_BLOCK, &d, NULL) < 0 &&
              errmsg_has("row 0 is a dense block of tiny6"),
          "--layer-index block: a dense block is refused");
    CHECK(mz_counts_read(file("f.txt", "5 0 1\n"), &m, 0, MZ_LAYERS_MOE, &d, NULL) < 0 && errmsg_has("row 5: tiny6 has 4 MoE layers"),
          "--layer-index moe: an index beyond the MoE layers is refused");
    CHECK(mz_counts_read(file("g.json", "{\"0\": [1,1,1]}"), &m, 0, 0, &d, NULL) < 0 &&
              errmsg_has("layer '0' has 3 counts, the model has 4 experts"),
          "a short row is refused");
    CHECK(mz_counts_read(file("h.json", "{\"0\": [1,-1,1,1]}"), &m, 0, 0, &d, NULL) < 0 && errmsg_has("item 1 = -1 is not a count"),
          "a negative count is refused");
    CHECK(mz_counts_read(file("i.json", "{\"x\": [1,1,1,1]}"), &m, 0, 0, &d, NULL) < 0 && errmsg_has("key 'x' is not a layer number"),
          "a key that is not a layer is refused");
    CHECK(mz_counts_read(file("j.txt", "layer expert count\n\n# c\n2 0 5\n2 x 1\n"), &m, 0, 0, &d, NULL) < 0 &&
              errmsg_has("j.txt: line 5: expert: 'x' is not a number"),
          "an error names the line, blank and comment lines counted (%s)", mz_errmsg());
    mz_buf_free(&note);
    mz_model_free(&m);
}

static void test_placemap(void)
{
    const char *th = "@MD\tname:tiny8\tlayers:4\tmoe:1-3\texperts:8\tshared:0\ttopk:2\thidden:4\tffn:2\tshared_ffn:0"
                     "\tdense_ffn:8\theads:1\tkv_heads:1\thead_dim:4\tvocab:10\tgroups:1\ttopk_groups:1\tgated:1\n"
                     "@TR\tsteps:1\tseqs:1\tseq_len:1\tlayers:1,3\tweights:0\n";
    mz_header h;
    mz_trace_info t;
    mz_placement p;
    mz_header_parse(&h, th, strlen(th));
    mz_trace_info_from_header(&h, &t);
    mz_header_free(&h);
    /* EPLB: 12 slots on 4 ranks (3 each); expert 0 three times, 3 and 6 twice */
    CHECK(mz_placemap_read(file("e.json", "{\"phy2log\": [[0,1,2,0,3,4,5,3,6,7,0,6],[0,1,2,3,4,5,6,7,0,1,2,3]], "
                                          "\"layers\": [1, 3], \"num_gpus\": 4}"),
                           MZ_PLACEMAP_EPLB, &t, 16, 0, 2, &p) == 0,
          "layer 3's rank 3 holds only second copies: read, the copies being placed and costed (%s)", mz_errmsg());
    if (p.chiplet) {
        int on3 = 0;
        for (int i = 0; i < p.n_replicas; i++) on3 += p.replica[3 * i] == 3 && p.replica[3 * i + 2] == 3;
        CHECK(p.n_replicas == 8 && on3 == 3 && p.chiplet[8 + 1] == 0 && p.chiplet[8 + 3] == 1,
              "layer 3: experts 1-3 primary on ranks 0 and 1, their second copies on rank 3");
        mz_placement_free(&p);
    }
    CHECK(mz_placemap_read(file("g.json", "{\"phy2log\": [[0,1,2,0,3,4,5,3,6,7,0,6],[0,1,2,3,4,5,6,0,1,0,1,2]], "
                                          "\"layers\": [1, 3], \"num_gpus\": 4}"),
                           MZ_PLACEMAP_EPLB, &t, 16, 0, 2, &p) < 0 &&
              errmsg_has("layer 3: expert 7 is not placed"),
          "layer 3 without expert 7: refused (%s)", mz_errmsg());
    CHECK(mz_placemap_read(file("f.json", "{\"phy2log\": [[0,1,2,0,3,4,5,3,6,7,0,6],[0,1,2,3,4,5,6,0,1,7,2,3]], "
                                          "\"layers\": [1, 3], \"num_gpus\": 4}"),
                           MZ_PLACEMAP_EPLB, &t, 16, 0, 2, &p) == 0,
          "an EPLB map with replicas is read (%s)", mz_errmsg());
    if (p.chiplet) {
        CHECK(p.chiplets == 4 && p.chiplet[0] == 0 && p.chiplet[3] == 1 && p.chiplet[6] == 2 && p.chiplet[7] == 3,
              "experts on their primary copies (the lowest slot)");
        CHECK(p.n_replicas == 4 + 4, "8 replicas (layer 1: 0 twice more, 3 and 6 once; layer 3: 0, 1, 2, 3 once)");
        CHECK(p.replica[0] == 1 && p.replica[1] == 0 && p.replica[2] == 1, "the first replica: layer 1 expert 0 on rank 1");
        mz_placement_free(&p);
    }
    /* vLLM: one list for both layers; the ranks from the largest one */
    CHECK(mz_placemap_read(file("v.json", "{\"expert_to_ep_rank\": [0, 0, 1, 1, 2, 2, 3, 3]}"), MZ_PLACEMAP_VLLM, &t, 16, 0,
                           2, &p) == 0 &&
              p.chiplets == 4 && p.chiplet[8 + 7] == 3 && p.n_replicas == 0,
          "a flat vLLM list places every layer; 4 ranks");
    {
        char path[256], buf[256] = "";
        mz_out *out;
        FILE *fp;
        snprintf(path, sizeof path, "%s/w.json", dir);
        out = mz_out_open(path, 0);
        CHECK(mz_placemap_write(&p, &t.model, MZ_PLACEMAP_VLLM, out) == 0 && mz_out_close(out) == 0, "written back");
        if ((fp = fopen(path, "r"))) {
            if (!fgets(buf, sizeof buf, fp)) buf[0] = '\0';
            fclose(fp);
        }
        CHECK(strcmp(buf, "{\"expert_to_ep_rank\": [0, 0, 1, 1, 2, 2, 3, 3]}\n") == 0, "as vLLM's flat list: %s", buf);
    }
    mz_placement_free(&p);
    mz_trace_info_free(&t);
}

/* mz_import_run: mz-import's work on a TSV route log and on a count set. */
static void test_import_run(void)
{
    char out[256], tsv[256];
    mz_import_run_opts o;
    mz_trace_reader tr;
    long n = 0;
    int ret = -1;
    FILE *fp;
    char line[256] = "";
    snprintf(out, sizeof out, "%s/imported.mzt", dir);
    snprintf(tsv, sizeof tsv, "%s", file("log.tsv", "sequence\ttoken\tlayer\tid0\tid1\n0\t0\t0\t1\t2\n0\t1\t0\t3\t1\n"
                                                  "0\t1\t0\t3\t1\n1\t0\t0\t7\t6\n"));
    setenv("MZ_MODELS", "models", 0);
    mz_import_run_opts_init(&o);
    CHECK(o.level == 1 && o.im.seqs == 32 && o.im.max_run == 64 && o.im.format == MZ_IMPORT_AUTO && !o.warn,
          "mz_import_run_opts_init: mz-import's defaults");
    CHECK(mz_import_run_check(&o, 1) < 0 && errmsg_has("no model"), "no model (%s)", mz_errmsg());
    o.model = "mixtral-8x7b", o.im.format = MZ_IMPORT_TSV;
    CHECK(mz_import_run_check(&o, 1) == 0, "a model and a log");
    o.im.weights = 1;
    CHECK(mz_import_run_check(&o, 1) < 0 && errmsg_has("no gate weights"), "--weights on a TSV (%s)", mz_errmsg());
    o.im.weights = 0;
    CHECK(mz_import_run(&o, tsv, out) < 0 && errmsg_has("refusing to import a log with anomalies: 1 repeat") &&
              access(out, F_OK) < 0, "a repeated row refuses the log, no trace left (%s)", mz_errmsg());
    o.im.drop = ~0u;
    CHECK(mz_import_run(&o, tsv, out) == 0, "dropped, the log imports (%s)", mz_errmsg());
    if (mz_trace_open(&tr, out) == 0) {
        while ((ret = mz_trace_next(&tr)) > 0) n++;
        CHECK(tr.info.n_layers == 1 && tr.info.layers[0] == 0, "the log's one layer");
        mz_trace_close(&tr);
    }
    CHECK(ret == 0 && n == 3, "three tokens kept (%ld)", n);
    snprintf(out, sizeof out, "%s/loads.tsv", dir);
    o.im.format = MZ_IMPORT_AUTO; /* a count set by its content */
    CHECK(mz_import_run(&o, file("c.json", "{\"0\": [1,2,3,4,5,6,7,8]}\n"), out) == 0, "a count set (%s)", mz_errmsg());
    n = 0;
    if ((fp = fopen(out, "r"))) {
        while (fgets(line, sizeof line, fp))
            if (line[0] != '#') n++;
        fclose(fp);
    }
    CHECK(n == 9, "its loads table: a header and 8 experts (%ld lines)", n);
    o.model = "no-such-model";
    CHECK(mz_import_run(&o, tsv, out) < 0 && errmsg_has("no-such-model"), "a missing model (%s)", mz_errmsg());
}

int main(void)
{
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_sniff();
    test_layer_rule();
    test_placemap();
    test_import_run();
    {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    }
    return unit_done();
}
