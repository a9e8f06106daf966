/* place.h: private to libmz: placement algorithms, -a latency, replicas and placement maps (place.c, placelat.c, replica.c, placemap.c). */
#ifndef MZ_PLACE_H
#define MZ_PLACE_H

#include "fit.h"
#include "wafer.h"

/* ---------------------------------------------------------------- placement algorithms (place.c; mz-place)
 * Activation priors of each placed MoE layer from a profiling prefix of a
 * trace, the algorithms that turn them into a placement (the paper's
 * Algorithm 1 and Eq. 5 among them), and the C_T/balance report. */
enum { MZ_PLACE_CONTIGUOUS, MZ_PLACE_ROUND_ROBIN, MZ_PLACE_RANDOM, MZ_PLACE_BALANCED, MZ_PLACE_MOZART,
       MZ_PLACE_CTSWAP, MZ_PLACE_EPLB, MZ_PLACE_NALGO };
const char *mz_place_algorithm_name(int algo);
/* 1 if the algorithm needs the activation priors (reads the trace first). */
int mz_place_needs_priors(int algo);

/* Experts per chiplet in the contiguous layout (E mod Nc chiplets host one
 * more, spread evenly over the groups): cap[chiplets]. Every algorithm but
 * round-robin fills chiplets to these counts. */
void mz_place_capacity(int experts, int chiplets, int *cap);

/* Activation priors per placed layer: V (selections per expert) and C
 * (tokens selecting both i and j, i != j; symmetric, zero diagonal), and a
 * seeded uniform sample of the profiled tokens for algorithms that evaluate
 * C_T exactly. C is dense (E x E per layer, 10 bytes a pair while counting)
 * when that takes at most MZ_COACT_DENSE_BYTES, else sparse: a hash of the
 * pairs that occur while counting (8 bytes a slot, at most 3/4 full), then
 * per layer a symmetric CSR (rows rowptr, columns col, counts val: 6 bytes
 * an entry, two entries a pair), so that memory grows with the pairs that
 * occur, not with E^2. Sparse counts are 32-bit: at most 2^32 - 1 profiled
 * tokens. */
#define MZ_COACT_DENSE_BYTES (64ull << 20)
enum { MZ_COACT_AUTO, MZ_COACT_DENSE, MZ_COACT_SPARSE };
typedef struct {
    uint64_t *slot;      /* key i * E + j (i < j) << 32 | count; UINT64_MAX: empty */
    size_t cap, n;       /* slots (a power of 2), pairs */
} mz_pairhash;
typedef struct {
    size_t *rowptr;      /* [E + 1] */
    uint16_t *col;
    uint32_t *val;
} mz_coact_csr;
typedef struct {
    int experts, topk, n_layers;
    uint64_t tokens;     /* profiled tokens */
    uint64_t *load;      /* [n_layers * experts] */
    uint64_t *coact;     /* [n_layers * experts * experts]; upper triangle until finished */
    size_t keep, kept;   /* sample capacity and size (tokens) */
    uint16_t *ids;       /* [kept * n_layers * topk] sampled tokens' expert ids */
    size_t ids_cap;      /* tokens ids has room for */
    void *rng;           /* gsl_rng of the reservoir sample */
    uint16_t *block;     /* tokens not yet counted, counted layer by layer (cache) */
    size_t nblock;
    uint16_t *coact16;   /* [n_layers * experts * experts]: pairs in rank order since the last fold into coact (cache) */
    uint32_t since_fold; /* tokens counted in coact16 */
    int sparse;          /* 1: C in hash[] (counting), then csr[] (finished); coact is NULL */
    mz_pairhash *hash;   /* [n_layers] */
    mz_coact_csr *csr;   /* [n_layers] */
    double sparse_bytes; /* the hashes' size, checked against MZ_MAX_TABLE_BYTES as they grow */
    int failed;          /* a hash would have exceeded the limit: the error is set, mz_priors_finish fails */
    int finished;
} mz_priors;
/* keep: tokens to sample for exact C_T evaluation (0: none). Returns 0, or
 * -1 and an error when the E x E tables of the traced layers would exceed
 * MZ_MAX_TABLE_BYTES (checked before allocating). p: free with mz_priors_free (on failure too). */
int mz_priors_init(mz_priors *p, const mz_trace_info *t, size_t keep, unsigned long seed);
/* The same with the form of C chosen: MZ_COACT_AUTO (dense when it takes at
 * most MZ_COACT_DENSE_BYTES), _DENSE or _SPARSE. */
int mz_priors_init_mode(mz_priors *p, const mz_trace_info *t, size_t keep, unsigned long seed, int mode);
void mz_priors_add(mz_priors *p, const mz_token *tok);
/* Mirror C into a full symmetric matrix (dense) or build the CSR rows
 * (sparse); call once after the last add. Returns 0, or -1 and the error
 * when a sparse table outgrew MZ_MAX_TABLE_BYTES while counting. */
int mz_priors_finish(mz_priors *p);
/* C_ij of layer slot l, either form (finished). */
uint64_t mz_priors_coact(const mz_priors *p, int l, int i, int j);
void mz_priors_free(mz_priors *p);

/* The paper's Algorithm 1 on one layer's E x E co-activation matrix: fills
 * cluster_of[E] with clusters 0..nc-1; the first E mod nc clusters hold
 * ceil(E/nc) experts, the others floor(E/nc). Deterministic (see place.c). */
void mz_place_cluster(const uint64_t *coact, int experts, int nc, int *cluster_of);
/* The same on C in CSR form (both triangles, no diagonal): identical clusters. */
void mz_place_cluster_csr(const mz_coact_csr *C, int experts, int nc, int *cluster_of);

/* Eq. 5 outcome: the deviation of the group loads from the even share, in
 * integers: dev = max_g |groups * load_g - total|, sq = sum_g of its square. */
typedef struct {
    uint64_t dev;
    double sq;
    long nodes;  /* branch-and-bound nodes visited */
    int exact;   /* 1: search completed (optimal); 0: node budget ran out */
    uint64_t lb; /* no allocation has a smaller dev (= dev when exact) */
    uint64_t total; /* the clusters' summed load: dev / (groups * total) is a share */
} mz_alloc_stats;
/* Eq. 5: put n clusters (n = number of chiplets) of load load[i] and size
 * size[i] onto chiplets with capacities cap[] (a cluster goes to a chiplet
 * of its size; group g = chiplets c with c * groups / n == g), minimising
 * dev, then sq. init: a feasible chiplet per cluster to start from, or NULL.
 * budget: node limit of the exact search (<= 0: none), counted in nodes of
 * a 4-group search: a node over G > 4 groups costs about (G/4)^2 of them
 * (G children, each bounded over G groups), so the search visits
 * budget * 16 / G^2 nodes, at least 1 (mz_place_alloc_budget). Fills chiplet[n];
 * returns 0, or -1 if the sizes do not match the capacities. */
int mz_place_allocate(int n, int groups, const uint64_t *load, const int *size, const int *cap,
                      long budget, const int *init, int *chiplet, mz_alloc_stats *st);
/* The nodes a budget allows over G groups (see mz_place_allocate). */
long mz_place_alloc_budget(long budget, int groups);

typedef struct {
    int algorithm;
    unsigned long seed;  /* random layout, token sample */
    long alloc_nodes;    /* Eq. 5 node budget per layer */
    long kicks;          /* ctswap: perturbation rounds per layer */
    double max_load;     /* 0: no cap; else no chiplet above max_load x the layer's mean chiplet load (V) */
} mz_place_opts;
/* What happened per layer. */
typedef struct {
    int group_alloc;     /* 0 none, 1 exact, 2 heuristic (budget ran out) */
    double gap;          /* heuristic: the group deviation (a share) less its lower bound; exact: 0 */
    double seconds;      /* time spent placing the layer */
    long swaps;          /* ctswap: swaps made */
    int over_cap;        /* max_load given: a chiplet's load is above the cap (mz_place_over_cap) */
} mz_place_info;
/* Compute every layer's placement into p (from mz_placement_init) from the
 * priors pr (finished; may be NULL for data-independent algorithms).
 * info[p->n_layers] is filled when not NULL. Returns 0 or -1. */
int mz_place_compute(mz_placement *p, const mz_priors *pr, const mz_place_opts *o, mz_place_info *info);
/* The load cap of one layer: the largest chiplet load (in selections) within
 * max_load x the mean chiplet load of V[E] over nc chiplets; UINT64_MAX
 * when max_load <= 0 (no cap). */
uint64_t mz_place_load_cap(const uint64_t *V, int E, int nc, double max_load);
/* 0 if no chiplet of chip[E] carries more than cap of V; else 1, or 2 when
 * no placement can meet the cap (the hottest expert with the E/nc - 1
 * lightest others is above it). */
int mz_place_over_cap(const int *chip, const uint64_t *V, int E, int nc, uint64_t cap);
/* May an expert of load va on a chiplet of load la swap with one of load vb
 * on a chiplet of load lb under the cap? Yes if neither chiplet ends above
 * it, or if the larger of the two loads goes down. */
int mz_place_swap_capped(uint64_t la, uint64_t lb, uint64_t va, uint64_t vb, uint64_t cap);
/* The layers of info[p->n_layers] over the cap: their number, their ids
 * from p->layers appended to list (comma-separated; when not NULL), and
 * in *forced (when not NULL) how many of them no placement could meet. */
int mz_place_cap_missed(const mz_placement *p, const mz_place_info *info, mz_buf *list, int *forced);
const char *mz_place_alloc_name(int group_alloc);

/* C_T and balance of a placement on a stream of tokens, split into the
 * profiled tokens and the evaluation tokens after them. */
typedef struct {
    int n_layers, topk, chiplets, groups;
    uint64_t tokens[2];    /* profiled, evaluated */
    uint64_t *distinct;    /* [n_layers * 2]: sum over tokens of distinct chiplets */
    uint64_t *load;        /* [n_layers * 2 * chiplets]: selections per chiplet */
    uint64_t *pairs;       /* [n_layers * 4]: per part, expert pairs on one chiplet, on two */
    uint32_t *stamp;       /* scratch [chiplets] */
    int *ch;               /* scratch [chiplets] */
    uint32_t serial;
} mz_place_eval;
/* ev: free with mz_place_eval_free. */
void mz_place_eval_init(mz_place_eval *ev, const mz_placement *p, int topk);
/* part: 0 profiled token, 1 evaluation token. */
void mz_place_eval_add(mz_place_eval *ev, const mz_placement *p, const mz_token *tok, int part);
void mz_place_eval_free(mz_place_eval *ev);
/* The --report TSV: one row per layer and an "all" row (means of the layer
 * rows). info may be NULL (placement read from a file). */
int mz_place_report_write(const mz_place_eval *ev, const mz_placement *p, const mz_place_info *info,
                          int profile_steps, int eval_steps, mz_out *out);

/* Placement maps of serving stacks (placemap.c; bin/mz-place.1, PLACEMENT
 * MAPS): vLLM's expert_to_ep_rank, SGLang's physical_to_logical_map,
 * DeepSeek EPLB's phy2log. An EP rank is a chiplet. */
const char *mz_placemap_format_name(int format);
/* The format of a placement file by content: a JSON map by its key, else TSV; -1 on error. */
int mz_placemap_sniff(const char *path);
/* Read a map for the traced layers of t into p (freed with
 * mz_placement_free). Ranks: chiplets when chiplets_given, else the file's
 * ep_size/num_gpus, else (vLLM) the largest rank + 1, else chiplets. Each
 * expert is placed on its primary copy (its lowest physical slot); further
 * copies go to p->replica. Returns 0 or -1. */
int mz_placemap_read(const char *path, int format, const mz_trace_info *t, int chiplets, int chiplets_given,
                     int groups, mz_placement *p);
/* Write p as a map of this format (m: the model, for SGLang's row per
 * block). SGLang and EPLB maps need equally many experts on every chiplet. */
int mz_placemap_write(const mz_placement *p, const mz_model *m, int format, mz_out *out);
/* The @PR lines of p's replicas ("@PR layer:L copies:e=c,..."), replacing any. */
void mz_placement_replicas_to_header(const mz_placement *p, mz_header *h);

/* Chiplets and groups named by a placement TSV's "#placement" line:
 * 1 and both set, 0 if there is no such line, -1 on error. */
int mz_place_tsv_topology(const char *path, int *chiplets, int *groups);

/* Latency-aware placement (placelat.c; mz-place -a latency, bin/mz-place.1):
 * candidates (contiguous, mozart, ctswap, and rdswap: a local search on the
 * root dispatcher's copies from ctswap), each timed as Mozart-C
 * on the wafer over the profiled tokens; the fastest wins (ties: the
 * earlier), so it is never slower on them than contiguous or mozart. */
#define MZ_PLACELAT_CANDS 4
typedef struct {
    const mz_wafer *w;          /* finished wafer the candidates are timed on */
    const mz_trace_info *ti;
    const mz_header *h;         /* the trace's header */
    const uint8_t *recs;        /* the profiled tokens' records, in trace order */
    size_t n_recs, rec_size;
} mz_placelat_input;
typedef struct {
    int n, chosen, wa, wb;      /* candidates; the fastest; copies = wa ct_dedup + wb ct_group */
    char name[MZ_PLACELAT_CANDS][24];
    double latency[MZ_PLACELAT_CANDS], surrogate[MZ_PLACELAT_CANDS], ct[MZ_PLACELAT_CANDS];
    double ct_group[MZ_PLACELAT_CANDS], max_load[MZ_PLACELAT_CANDS], group_dev[MZ_PLACELAT_CANDS];
} mz_placelat_result;
/* p from mz_placement_init; pr finished, with a token sample (keep > 0). */
int mz_placelat_compute(mz_placement *p, const mz_priors *pr, const mz_place_opts *o, const mz_placelat_input *in,
                        mz_place_info *info, mz_placelat_result *res);
/* The --latency-report TSV: a row per candidate (latency and proxies), the chosen one marked. */
int mz_placelat_report_write(const mz_placelat_result *res, mz_out *out);

/* Per pair of experts a < b, the profiled tokens with both: what ctswap's
 * and -a latency's swap corrections read, in place of a merge of the two
 * experts' token lists (ids: n tokens of k expert ids, stride apart; off:
 * each expert's token list offsets). A token that repeats an expert is
 * listed as often as that merge meets it (the multiplicity of the pair's
 * expert with the shorter list, a on a tie). Returns the lists (free()),
 * *poff their offsets by mz_pair_at (free()); NULL and *poff NULL when
 * they would pass MZ_PAIRS_MAX entries (the callers merge then). */
#define MZ_PAIRS_MAX ((size_t)1 << 23)
static inline size_t mz_pair_at(int E, int a, int b)
{
    return (size_t)a * (2 * (size_t)E - a - 1) / 2 + (size_t)(b - a - 1);
}
uint32_t *mz_pairs_build(int E, int k, const uint16_t *ids, size_t stride, size_t n, const size_t *off, uint32_t **poff);

/* A candidate swap of experts a and b (ctswap's and -a latency's
 * descents) and its change of the objective; the candidates come in
 * (delta, a, b) order from a binary heap, without sorting them all
 * (mz_cand_heapify, then mz_cand_pop until the bound stops the scan). */
typedef struct {
    int delta, a, b;
} mz_swap_cand;
void mz_cand_heapify(mz_swap_cand *h, size_t n);
mz_swap_cand mz_cand_pop(mz_swap_cand *h, size_t *n); /* the least, removed from the heap of *n */

/* ---------------------------------------------------------------- replicas: where copies fit (replica.c) */
/* Where a copy fits (mz-model(7) section 5): the hosting chiplet's SRAM
 * peak at the schedule's prefetch depths, and, when the wafer enforces it
 * (a spill tier), its group DRAM's capacity for the weights of every block. */
typedef struct {
    double sram, dram;   /* per expert chiplet, per group (bytes; 0: unknown) */
    int dram_enforced;   /* spill.bandwidth_GBps > 0 */
    double ew, P_e, grad, bytes, spread; /* weight bytes, expert parameters, gradient and activation bytes, spread shared parameters per chiplet */
    double tokens_slice, per_tok_h, per_tok_f;
    int topk, experts, depth_f, depth_b;
} mz_replica_cap;
typedef struct {
    long placed;         /* copies placed */
    long refused;        /* copies that fit on no chiplet */
    long refused_sram, refused_dram; /* of which: a chiplet's SRAM, a group's DRAM said no */
    long over_dram;      /* copies placed in a group DRAM over its (unenforced) capacity */
    long short_layers;   /* layers with fewer copies than asked */
} mz_replica_stats;
/* w may be NULL (no capacity known: nothing refused). */
void mz_replica_cap_init(mz_replica_cap *cap, const mz_trace_info *t, const mz_wafer *w, int chiplets);
/* SRAM peak of a chiplet holding n copies of one block (section 5.1). */
double mz_replica_sram_need(const mz_replica_cap *cap, int n);
/* Up to nrep copies per layer of the expert of highest load per copy, each
 * on the least-loaded chiplet without one where it fits. */
int mz_place_replicas(mz_placement *p, const mz_priors *pr, int nrep, mz_replica_cap *cap, mz_replica_stats *st);
/* DeepSeek EPLB's global policy with nrep redundant slots per layer (fewer if they do not fit). */
int mz_place_eplb(mz_placement *p, const mz_priors *pr, int nrep, mz_replica_cap *cap, mz_replica_stats *st);

#endif
