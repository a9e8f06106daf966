/* unit-jsonl.c: mz-import's fast route-line parser (lib/import.c) agrees with jansson on usual, odd and randomly mutated lines. */
#include "../lib/import.c" /* the parsers are static */

#include <stdio.h>
#include <unistd.h>

#include "unit.h"

/* What a parse left in im->r. */
typedef struct {
    int ret;
    char req[256];
    long token_idx;
    int layer, n_ids, n_w;
    long ids[MAX_IDS];
    float w[MAX_IDS];
} parsed;

static void take(const mz_import *im, int ret, parsed *p)
{
    memset(p, 0, sizeof *p);
    p->ret = ret;
    if (ret != 1) return;
    snprintf(p->req, sizeof p->req, "%s", im->r.req.s ? im->r.req.s : "");
    p->token_idx = im->r.token_idx;
    p->layer = im->r.layer;
    p->n_ids = im->r.n_ids;
    p->n_w = im->r.n_w;
    memcpy(p->ids, im->r.ids, sizeof p->ids);
    if (p->n_w > 0) memcpy(p->w, im->r.w, p->n_w * sizeof *p->w);
}

static int same(const parsed *a, const parsed *b)
{
    if (a->ret != b->ret || strcmp(a->req, b->req) || a->token_idx != b->token_idx || a->layer != b->layer ||
        a->n_ids != b->n_ids || a->n_w != b->n_w)
        return 0;
    if (memcmp(a->ids, b->ids, a->n_ids * sizeof *a->ids)) return 0;
    return a->n_w <= 0 || memcmp(a->w, b->w, a->n_w * sizeof *a->w) == 0;
}

/* Parse one line both ways. Returns 1 if the fast path took it, 0 if it
 * left it to jansson, -1 if it took it and jansson disagrees. */
static int compare(mz_import *im, const char *line, size_t len, parsed *fast, parsed *tree)
{
    char *a = mz_malloc(len + 1), *b = mz_malloc(len + 1);
    int took;
    memcpy(a, line, len), a[len] = '\0';
    memcpy(b, line, len), b[len] = '\0';
    took = parse_route_fast(im, a, len);
    take(im, took, fast);
    if (took) take(im, parse_json_tree(im, b, len), tree);
    free(a);
    free(b);
    return !took ? 0 : same(fast, tree) ? 1 : -1;
}

static mz_import *open_import(const char *path, const mz_model *m, int weights)
{
    mz_import_opts o = {0};
    o.seqs = 32;
    o.max_run = 64;
    o.weights = weights;
    return mz_import_open(path, m, &o);
}

static const char *const usual[] = {
    "{\"type\": \"route\", \"req_id\": \"r1\", \"token_idx\": 0, \"layer\": 0, \"topk_ids\": [43, 5, 7, 58], "
    "\"topk_weights\": [0.0967, 0.0518, 0.0391, 0.0367]}",
    "{\"req_id\":17,\"token_idx\":3,\"layer\":1,\"topk_ids\":[1,2,3,4],\"topk_weights\":[1,2e-3,-0.5E+1,0]}",
    "  {\"layer\": 2, \"topk_ids\": [ 0 , 59 , 1 , 2 ], \"token_idx\": 12, \"req_id\": \"a b-c\", "
    "\"extra\": [true, null, \"x\", -1.5], \"more\": false, \"topk_weights\": [0.25, 0.25, 0.25, 0.25]}\t ",
    "{\"type\":\"route\",\"req_id\":-5,\"token_idx\":2147483647,\"layer\":0,\"topk_ids\":[],\"topk_weights\":[]}",
    "{\"req_id\": \"r\", \"token_idx\": 1, \"layer\": 0, \"topk_ids\": [99999999, -99999999, 60, 61], "
    "\"topk_weights\": [1e-320, 3.4028235e38, 0.1, 0.2]}",
};

/* Lines the fast path must leave to jansson (errors, escapes, repeats, ...). */
static const char *const odd[] = {
    "{\"type\": \"meta\", \"top_k\": 4}",
    "{\"type\": \"rout\", \"req_id\": \"r\", \"token_idx\": 0, \"layer\": 0, \"topk_ids\": [1]}",
    "{\"req_id\": \"r\\u0031\", \"token_idx\": 0, \"layer\": 0, \"topk_ids\": [1], \"topk_weights\": [1]}",
    "{\"req_id\": \"r\", \"req_id\": \"s\", \"token_idx\": 0, \"layer\": 0, \"topk_ids\": [1], \"topk_weights\": [1]}",
    "{\"req_id\": \"r\", \"token_idx\": -1, \"layer\": 0, \"topk_ids\": [1], \"topk_weights\": [1]}",
    "{\"req_id\": \"r\", \"token_idx\": 2147483648, \"layer\": 0, \"topk_ids\": [1], \"topk_weights\": [1]}",
    "{\"req_id\": \"r\", \"token_idx\": 0, \"layer\": 0, \"topk_ids\": [1.0], \"topk_weights\": [1]}",
    "{\"req_id\": \"r\", \"token_idx\": 0, \"layer\": 0, \"topk_ids\": [01], \"topk_weights\": [1]}",
    "{\"req_id\": \"r\", \"token_idx\": 0, \"layer\": 0, \"topk_ids\": [1], \"topk_weights\": [1e999]}",
    "{\"req_id\": \"r\", \"token_idx\": 0, \"layer\": 0, \"topk_ids\": [1], \"topk_weights\": [1]} x",
    "{\"req_id\": \"r\", \"token_idx\": 0, \"layer\": 0, \"topk_ids\": [1,], \"topk_weights\": [1]}",
    "{\"req_id\": \"r\", \"token_idx\": 0, \"layer\": 0, \"topk_ids\": [1], \"topk_weights\": [1],}",
    "{\"req_id\": \"r\", \"token_idx\": 0, \"layer\": 0, \"topk_ids\": [1], \"x\": {\"y\": 1}, \"topk_weights\": [1]}",
    "{\"req_id\": \"r\", \"token_idx\": 0, \"layer\": 0, \"topk_ids\": [1]}",
    "{\"req_id\": \"caf\xc3\xa9\", \"token_idx\": 0, \"layer\": 0, \"topk_ids\": [1], \"topk_weights\": [1]}",
    "{\"req_id\": 1234567890123456789, \"token_idx\": 0, \"layer\": 0, \"topk_ids\": [1], \"topk_weights\": [1]}",
    "[1, 2]",
    "{}",
};

/* One random edit of s (length *n, room for 8 more bytes): insert, delete
 * or replace a byte with one that JSON cares about. */
static void mutate(char *s, size_t *n, unsigned *seed)
{
    static const char alphabet[] = "0123456789-+.eE\"\\[]{},: \tnulltruefalse\x80\x1f/xu";
    size_t at = *n ? rand_r(seed) % (*n + 1) : 0;
    char ch = alphabet[rand_r(seed) % (sizeof alphabet - 1)];
    switch (rand_r(seed) % 3) {
    case 0:
        memmove(s + at + 1, s + at, *n - at);
        s[at] = ch;
        ++*n;
        break;
    case 1:
        if (at < *n) memmove(s + at, s + at + 1, *n - at - 1), --*n;
        break;
    default:
        if (at < *n) s[at] = ch;
    }
}

int main(void)
{
    char path[] = "/tmp/unit-jsonl.XXXXXX";
    int fd = mkstemp(path);
    mz_model m;
    mz_import *im[2];
    parsed fast, tree;
    long taken = 0, left = 0, wrong = 0, tries = 0;
    unsigned seed = 1;
    if (fd < 0 || write(fd, "{}\n", 3) != 3) return 1;
    close(fd);
    setenv("MZ_MODELS", "models", 0);
    if (mz_model_load("qwen1.5-moe-a2.7b", &m) < 0) {
        printf("Bail out! %s\n", mz_errmsg());
        return 1;
    }
    im[0] = open_import(path, &m, 0);
    im[1] = open_import(path, &m, 1);
    for (size_t i = 0; i < sizeof usual / sizeof *usual; i++)
        for (int w = 0; w < 2; w++) {
            int r = compare(im[w], usual[i], strlen(usual[i]), &fast, &tree);
            CHECK(r == 1, "usual line %zu (%s weights): the fast path takes it and jansson agrees", i,
                  w ? "with" : "without");
        }
    compare(im[1], usual[0], strlen(usual[0]), &fast, &tree);
    CHECK(strcmp(fast.req, "r1") == 0 && fast.n_ids == 4 && fast.ids[0] == 43 && fast.ids[3] == 58 &&
              fast.n_w == 4 && fast.w[1] == 0.0518f,
          "the fields of the first line: r1, 43 5 7 58, weights");
    compare(im[0], usual[1], strlen(usual[1]), &fast, &tree);
    CHECK(strcmp(fast.req, "17") == 0 && fast.token_idx == 3 && fast.layer == 1 && fast.n_w == -1,
          "an integer req_id becomes text; no weights without -w");
    compare(im[0], usual[4], strlen(usual[4]), &fast, &tree);
    CHECK(fast.ids[0] == 1000000 && fast.ids[1] == -1000000, "huge ids are clamped as jansson's path clamps them");
    for (size_t i = 0; i < sizeof odd / sizeof *odd; i++) {
        int r = compare(im[1], odd[i], strlen(odd[i]), &fast, &tree);
        CHECK(r == 0, "odd line %zu is left to jansson", i);
    }
    /* random edits of the usual lines: whatever the fast path takes, jansson reads the same */
    for (int round = 0; round < 200000; round++) {
        const char *src = usual[round % (sizeof usual / sizeof *usual)];
        char buf[1024];
        size_t n = strlen(src);
        int edits = 1 + rand_r(&seed) % 4, r;
        memcpy(buf, src, n);
        for (int e = 0; e < edits && n < sizeof buf - 8; e++) mutate(buf, &n, &seed);
        r = compare(im[round & 1], buf, n, &fast, &tree);
        tries++;
        if (r == 1) taken++;
        if (r == 0) left++;
        if (r < 0 && wrong++ < 5) printf("# disagree: %.*s\n", (int)n, buf);
    }
    CHECK(wrong == 0, "%ld mutated lines: the fast path took %ld, left %ld to jansson, disagreed on %ld", tries,
          taken, left, wrong);
    CHECK(taken > 1000 && left > 1000, "the mutations exercise both paths");
    mz_import_close(im[0]);
    mz_import_close(im[1]);
    mz_model_free(&m);
    unlink(path);
    return unit_done();
}
