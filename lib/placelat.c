/* placelat.c: latency-aware placement (mz-place -a latency): candidates timed by the timing model, a local search on the dispatcher's copies. */
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "place.h"
#include "timing.h"

/* ---------------------------------------------------------------- the surrogate
 * bin/mz-place.1 (latency): every token copy of the all-to-all passes the
 * root's dispatcher RD (mz-model(7) 2.6, 3.2), which binds Mozart-C. Per
 * token and MoE block it carries, over the four all-to-all ops (dispatch
 * and combine, forward and backward), one copy per distinct chiplet of the
 * token's experts, or per distinct group when the switch aggregates that op
 * (multicast: dispatch; reduce_forward, reduce_backward: combine; tree only):
 *     J = sum over tokens of  a D_chip(t) + b D_group(t),   a + b = 4
 * (the paper's designs: a = 3, b = 1). The search lowers J on the sampled
 * profiled tokens by swapping two experts on different chiplets (sizes stay)
 * and by swapping the expert sets of two equal-size chiplets in different
 * groups. For a swap of a (on A, group gA) and b (on B, group gB), with
 * Z[e][X] e's tokens without an expert on chiplet X, S[e] those where e is
 * alone on its chiplet, Zg and Sg the same per group:
 *     dJ = a (Z[a][B] - S[a] + Z[b][A] - S[b] + c_chip)
 *        + b [gA != gB] (Zg[a][gB] - Sg[a] + Zg[b][gA] - Sg[b] + c_group)
 * where the corrections c >= 0 count, over tokens with both a and b, the
 * ones where A (gA) or B (gB) holds one expert of the token: pairs whose
 * terms without them cannot beat the best change found are skipped. */

typedef struct {
    int E, nc, G, m, k, wa, wb;
    const uint16_t *ids;
    size_t stride, n;
    int *chip;
    const int *cap;
    const uint64_t *V;  /* the layer's loads, and the chiplets': with a load cap only (capv < UINT64_MAX) */
    uint64_t *cl, capv;
    size_t *off;        /* [E + 1]: tokens of expert e are list[off[e] .. off[e+1]) */
    uint32_t *list;
    int *gof;           /* [nc]: the group of chiplet c, c / m */
    uint32_t *poff, *plist; /* mz_pairs_build: the tokens of pair (a, b) are plist[poff[q] .. poff[q+1]) */
    uint8_t *cnt, *gcnt; /* [n * nc], [n * G]: a token's experts per chiplet, per group */
    int32_t *Z, *S, *Zg, *Sg;
    int32_t *HC, *NC, *AC; /* [nc * G], [nc], [nc]: chiplet_descend's terms (chip_build) */
    int *mfirst, *mfill, *mem; /* [nc + 1], [nc], [E]: the experts on chiplet X are mem[mfirst[X] .. mfirst[X+1]) */
    uint32_t *seen, stamp; /* [n]: tokens visited by chip_corr, chip_swap_apply */
    uint32_t *touched;  /* [n]: the tokens chip_swap_apply updates */
    int64_t J;
    mz_swap_cand *cand, *ccand;
    long swaps;
} lat_ctx;

#define TOK(x, t) ((x)->ids + (size_t)(t) * (x)->stride)
#define GRP(x, c) ((x)->gof[c]) /* (c) / m, looked up */

/* Counts, Z, S, Zg, Sg and J from chip[]. */
static void lat_build(lat_ctx *x)
{
    int nc = x->nc, G = x->G, k = x->k;
    memset(x->cnt, 0, x->n * nc);
    memset(x->gcnt, 0, x->n * G);
    memset(x->Z, 0, (size_t)x->E * nc * sizeof *x->Z);
    memset(x->Zg, 0, (size_t)x->E * G * sizeof *x->Zg);
    memset(x->S, 0, x->E * sizeof *x->S);
    memset(x->Sg, 0, x->E * sizeof *x->Sg);
    x->J = 0;
    /* Z[e][X] (Zg[e][Y]): e's tokens less those with an expert on X (in Y),
     * from each token's distinct chiplets and groups (at most k of each) */
    int32_t *ne = mz_calloc(x->E, sizeof *ne);
    for (size_t t = 0; t < x->n; t++) {
        uint8_t *ct = x->cnt + t * nc, *gt = x->gcnt + t * G;
        const uint16_t *id = TOK(x, t);
        int dX[256], dY[256], nd = 0, ng = 0;
        for (int j = 0; j < k; j++) {
            int X = x->chip[id[j]], Y = GRP(x, X);
            if (ct[X]++ == 0) dX[nd++] = X;
            if (gt[Y]++ == 0) dY[ng++] = Y;
        }
        x->J += (int64_t)x->wa * nd + (int64_t)x->wb * ng;
        for (int j = 0; j < k; j++) {
            int e = id[j];
            ne[e]++;
            for (int i = 0; i < nd; i++) x->Z[(size_t)e * nc + dX[i]]--;
            for (int i = 0; i < ng; i++) x->Zg[(size_t)e * G + dY[i]]--;
            x->S[e] += ct[x->chip[e]] == 1;
            x->Sg[e] += gt[GRP(x, x->chip[e])] == 1;
        }
    }
    for (int e = 0; e < x->E; e++) {
        for (int X = 0; X < nc; X++) x->Z[(size_t)e * nc + X] += ne[e];
        for (int Y = 0; Y < G; Y++) x->Zg[(size_t)e * G + Y] += ne[e];
    }
    free(ne);
}


static int swap_base(const lat_ctx *x, int a, int b)
{
    int A = x->chip[a], B = x->chip[b], gA = GRP(x, A), gB = GRP(x, B);
    int d = x->wa * (x->Z[(size_t)a * x->nc + B] - x->S[a] + x->Z[(size_t)b * x->nc + A] - x->S[b]);
    if (gA != gB) d += x->wb * (x->Zg[(size_t)a * x->G + gB] - x->Sg[a] + x->Zg[(size_t)b * x->G + gA] - x->Sg[b]);
    return d;
}

/* The tokens with both a and b (a < b): the correction to swap_base. */
static int swap_corr(const lat_ctx *x, int a, int b)
{
    int A = x->chip[a], B = x->chip[b], gA = GRP(x, A), gB = GRP(x, B), d = 0;
    if (x->poff) {
        size_t q = mz_pair_at(x->E, a, b);
        for (uint32_t p = x->poff[q]; p < x->poff[q + 1]; p++) {
            size_t t = x->plist[p];
            d += x->wa * ((x->cnt[t * x->nc + A] == 1) + (x->cnt[t * x->nc + B] == 1));
            if (gA != gB) d += x->wb * ((x->gcnt[t * x->G + gA] == 1) + (x->gcnt[t * x->G + gB] == 1));
        }
        return d;
    }
    if (x->off[a + 1] - x->off[a] > x->off[b + 1] - x->off[b]) {
        int t = a;
        a = b, b = t;
    }
    /* the tokens of a that have b: both lists are in token order, so a
     * merge finds them (each entry of a's list once, as the scan of the
     * token's experts did) without reading the tokens */
    const uint32_t *pb = x->list + x->off[b], *eb = x->list + x->off[b + 1];
    for (size_t p = x->off[a]; p < x->off[a + 1] && pb < eb; p++) {
        size_t t = x->list[p];
        while (pb < eb && *pb < t) pb++;
        if (pb == eb || *pb != t) continue;
        d += x->wa * ((x->cnt[t * x->nc + A] == 1) + (x->cnt[t * x->nc + B] == 1));
        if (gA != gB) d += x->wb * ((x->gcnt[t * x->G + gA] == 1) + (x->gcnt[t * x->G + gB] == 1));
    }
    return d;
}

/* One token's part of J and of Z, S, Zg, Sg at chiplets A, B and groups gA, gB, added with sign s. */
static void token_terms(lat_ctx *x, size_t t, int A, int B, int s, const int *chip_of)
{
    const uint8_t *ct = x->cnt + t * x->nc, *gt = x->gcnt + t * x->G;
    const uint16_t *id = TOK(x, t);
    int gA = GRP(x, A), gB = GRP(x, B);
    x->J += s * (x->wa * ((ct[A] > 0) + (ct[B] > 0)) + x->wb * ((gt[gA] > 0) + (gA != gB && gt[gB] > 0)));
    for (int j = 0; j < x->k; j++) {
        int e = id[j], ce = chip_of[j];
        x->Z[(size_t)e * x->nc + A] += s * (ct[A] == 0);
        x->Z[(size_t)e * x->nc + B] += s * (ct[B] == 0);
        x->Zg[(size_t)e * x->G + gA] += s * (gt[gA] == 0);
        if (gB != gA) x->Zg[(size_t)e * x->G + gB] += s * (gt[gB] == 0);
        x->S[e] += s * (ct[ce] == 1);
        x->Sg[e] += s * (gt[GRP(x, ce)] == 1);
    }
}

static void swap_apply(lat_ctx *x, int a, int b)
{
    int A = x->chip[a], B = x->chip[b], gA = GRP(x, A), gB = GRP(x, B), nc = x->nc, G = x->G;
    int before[256], after[256];
    size_t p = x->off[a], q = x->off[b], pe = x->off[a + 1], qe = x->off[b + 1];
    while (p < pe || q < qe) {
        size_t t;
        uint8_t *ct, *gt;
        const uint16_t *id;
        if (q >= qe || (p < pe && x->list[p] <= x->list[q])) {
            t = x->list[p++];
            if (q < qe && x->list[q] == t) q++;
        } else {
            t = x->list[q++];
        }
        ct = x->cnt + t * nc, gt = x->gcnt + t * G;
        id = TOK(x, t);
        for (int j = 0; j < x->k; j++) {
            int e = id[j];
            before[j] = x->chip[e];
            after[j] = e == a ? B : e == b ? A : x->chip[e];
        }
        token_terms(x, t, A, B, -1, before);
        for (int j = 0; j < x->k; j++) {
            if (id[j] == a) ct[A]--, ct[B]++, gt[gA]--, gt[gB]++;
            if (id[j] == b) ct[B]--, ct[A]++, gt[gB]--, gt[gA]++;
        }
        token_terms(x, t, A, B, +1, after);
    }
    if (x->cl) x->cl[A] += x->V[b] - x->V[a], x->cl[B] += x->V[a] - x->V[b];
    x->chip[a] = B;
    x->chip[b] = A;
    x->swaps++;
}

/* Best-improvement descent over expert swaps; returns the swaps made. */
static long expert_descend(lat_ctx *x)
{
    long made = 0;
    for (;;) {
        size_t ncand = 0;
        int best = 0, ba = -1, bb = -1;
        for (int a = 0; a < x->E; a++)
            for (int b = a + 1; b < x->E; b++) {
                int d;
                if (x->chip[a] == x->chip[b] || (d = swap_base(x, a, b)) >= 0) continue;
                if (x->cl && !mz_place_swap_capped(x->cl[x->chip[a]], x->cl[x->chip[b]], x->V[a], x->V[b], x->capv))
                    continue;
                x->cand[ncand].delta = d, x->cand[ncand].a = a, x->cand[ncand].b = b;
                ncand++;
            }
        if (!ncand) break;
        mz_cand_heapify(x->cand, ncand);
        while (ncand && x->cand[0].delta < best) {
            mz_swap_cand c = mz_cand_pop(x->cand, &ncand);
            int d = c.delta + swap_corr(x, c.a, c.b);
            if (d < best) best = d, ba = c.a, bb = c.b;
        }
        if (ba < 0) break;
        swap_apply(x, ba, bb);
        made++;
    }
    return made;
}

/* One token's part of NC, AC and HC, added with sign s. */
static void chip_terms(lat_ctx *x, size_t t, int s)
{
    const uint8_t *ct = x->cnt + t * x->nc, *gt = x->gcnt + t * x->G;
    const uint16_t *id = TOK(x, t);
    int k = x->k, grp[256], ng = 0;
    for (int j = 0; j < k; j++) {
        int g = GRP(x, x->chip[id[j]]), seen = 0;
        for (int i = 0; i < ng && !seen; i++) seen = grp[i] == g;
        if (!seen) grp[ng++] = g;
    }
    for (int j = 0; j < k; j++) {
        int X = x->chip[id[j]], seen = 0;
        for (int i = 0; i < j && !seen; i++) seen = x->chip[id[i]] == X;
        if (seen) continue;
        x->NC[X] += s;
        x->AC[X] += s * (gt[GRP(x, X)] == ct[X]);
        for (int i = 0; i < ng; i++) x->HC[(size_t)X * x->G + grp[i]] += s;
    }
}

/* Per chiplet X: NC[X], the profiled tokens with an expert on X; AC[X],
 * those with none on another chiplet of X's group; HC[X][g], those with an
 * expert in group g, so that NC[X] - HC[X][g] have none there; and the
 * experts on each chiplet (mfirst, mem). */
static void chip_build(lat_ctx *x)
{
    int nc = x->nc, G = x->G;
    memset(x->AC, 0, nc * sizeof *x->AC);
    memset(x->NC, 0, nc * sizeof *x->NC);
    memset(x->HC, 0, (size_t)nc * G * sizeof *x->HC);
    memset(x->mfirst, 0, (nc + 1) * sizeof *x->mfirst);
    for (int e = 0; e < x->E; e++) x->mfirst[x->chip[e] + 1]++;
    for (int X = 0; X < nc; X++) x->mfirst[X + 1] += x->mfirst[X];
    for (int e = 0, *fill = x->mfill; e < x->E; e++) {
        if (e == 0) memcpy(fill, x->mfirst, nc * sizeof *fill);
        x->mem[fill[x->chip[e]]++] = e;
    }
    for (size_t t = 0; t < x->n; t++) chip_terms(x, t, 1);
}

/* Over the tokens with experts on both X and Y, those where X (Y) is the
 * only chiplet of its group with their experts. */
static int64_t chip_corr(lat_ctx *x, int X, int Y)
{
    int nc = x->nc, G = x->G, gX, gY;
    int64_t d = 0;
    size_t nX = 0, nY = 0;
    for (int i = x->mfirst[X]; i < x->mfirst[X + 1]; i++) nX += x->off[x->mem[i] + 1] - x->off[x->mem[i]];
    for (int i = x->mfirst[Y]; i < x->mfirst[Y + 1]; i++) nY += x->off[x->mem[i] + 1] - x->off[x->mem[i]];
    if (nY < nX) {
        int t = X;
        X = Y, Y = t;
    }
    gX = GRP(x, X), gY = GRP(x, Y);
    if (++x->stamp == 0) {
        memset(x->seen, 0, x->n * sizeof *x->seen);
        x->stamp = 1;
    }
    /* the same tokens from the pairs of an expert on X and one on Y, when
     * there are fewer pairs than tokens to scan */
    size_t npairs = (size_t)(x->mfirst[X + 1] - x->mfirst[X]) * (x->mfirst[Y + 1] - x->mfirst[Y]);
    if (x->poff && npairs <= (nX < nY ? nX : nY)) {
        for (int i = x->mfirst[X]; i < x->mfirst[X + 1]; i++)
            for (int j = x->mfirst[Y]; j < x->mfirst[Y + 1]; j++) {
                int a = x->mem[i] < x->mem[j] ? x->mem[i] : x->mem[j], b = x->mem[i] ^ x->mem[j] ^ a;
                size_t q = mz_pair_at(x->E, a, b);
                for (uint32_t p = x->poff[q]; p < x->poff[q + 1]; p++) {
                    size_t t = x->plist[p];
                    const uint8_t *ct = x->cnt + t * nc, *gt = x->gcnt + t * G;
                    if (x->seen[t] == x->stamp) continue;
                    x->seen[t] = x->stamp;
                    d += (gt[gX] == ct[X]) + (gt[gY] == ct[Y]);
                }
            }
        return d;
    }
    for (int i = x->mfirst[X]; i < x->mfirst[X + 1]; i++) {
        int e = x->mem[i];
        for (size_t p = x->off[e]; p < x->off[e + 1]; p++) {
            size_t t = x->list[p];
            const uint8_t *ct = x->cnt + t * nc, *gt = x->gcnt + t * G;
            if (x->seen[t] == x->stamp) continue;
            x->seen[t] = x->stamp;
            if (!ct[Y]) continue;
            d += (gt[gX] == ct[X]) + (gt[gY] == ct[Y]);
        }
    }
    return d;
}

/* What trading the expert sets of chiplets X and Y (groups gX != gY) does
 * to one token's part of J, Zg, Sg, NC, AC and HC: its part after the trade
 * less its part before, read from the state before it. Only the entries
 * that can differ are touched: J and Zg at gX and gY; Sg of the experts in
 * gX or gY; NC at X and Y; AC of its chiplets in gX or gY; HC at the pairs
 * of one of its chiplets and one of its groups where the chiplet is X or Y
 * or the group gX or gY (the rest of both sets stay). */
static void swap_terms(lat_ctx *x, size_t t, int X, int Y)
{
    const uint8_t *ct = x->cnt + t * x->nc, *gt = x->gcnt + t * x->G;
    const uint16_t *id = TOK(x, t);
    int k = x->k, G = x->G, gX = GRP(x, X), gY = GRP(x, Y), cx = ct[X], cy = ct[Y];
    int ogx = gt[gX], ogy = gt[gY], ngx = ogx - cx + cy, ngy = ogy - cy + cx;
    int dc[256], nd = 0, og[256], nog = 0, ng[256], nng = 0;
    x->J += x->wb * ((ngx > 0) + (ngy > 0) - (ogx > 0) - (ogy > 0));
    for (int j = 0; j < k; j++) {
        int e = id[j], c = x->chip[e], g = GRP(x, c), seen = 0;
        x->Zg[(size_t)e * G + gX] += (ngx == 0) - (ogx == 0);
        x->Zg[(size_t)e * G + gY] += (ngy == 0) - (ogy == 0);
        if (g == gX || g == gY) {
            int g2 = GRP(x, c == X ? Y : c == Y ? X : c);
            x->Sg[e] += ((g2 == gX ? ngx : ngy) == 1) - (gt[g] == 1);
        }
        for (int i = 0; i < j && !seen; i++) seen = x->chip[id[i]] == c;
        if (!seen) dc[nd++] = c;
        seen = 0;
        for (int i = 0; i < nog && !seen; i++) seen = og[i] == g;
        if (!seen) og[nog++] = g;
    }
    /* the groups after: those before but gX and gY, then gX and gY where they have experts */
    for (int i = 0; i < nog; i++)
        if (og[i] != gX && og[i] != gY) ng[nng++] = og[i];
    if (ngx > 0) ng[nng++] = gX;
    if (ngy > 0) ng[nng++] = gY;
    x->NC[X] += (cy > 0) - (cx > 0);
    x->NC[Y] += (cx > 0) - (cy > 0);
    for (int i = 0; i < nd; i++) {
        int c = dc[i], g = GRP(x, c), c2 = c == X ? Y : c == Y ? X : c;
        if (g == gX || g == gY) {
            int g2 = GRP(x, c2), n2 = c2 == X ? cy : c2 == Y ? cx : ct[c2];
            x->AC[c] -= gt[g] == ct[c];
            x->AC[c2] += (g2 == gX ? ngx : ngy) == n2;
        }
        if (c == X || c == Y) {
            for (int q = 0; q < nog; q++) x->HC[(size_t)c * G + og[q]]--;
            for (int q = 0; q < nng; q++) x->HC[(size_t)c2 * G + ng[q]]++;
        } else {
            if (ogx > 0) x->HC[(size_t)c * G + gX]--;
            if (ogy > 0) x->HC[(size_t)c * G + gY]--;
            if (ngx > 0) x->HC[(size_t)c * G + gX]++;
            if (ngy > 0) x->HC[(size_t)c * G + gY]++;
        }
    }
}

/* Trades the expert sets of chiplets X and Y (in different groups; the
 * members as chip_build left them): the columns X and Y of the chiplet
 * counts and of Z trade places, S stays, and only the tokens with experts
 * on X or Y change their group counts, Zg, Sg, NC, AC and HC; the members of
 * X and Y trade places. */
static void chip_swap_apply(lat_ctx *x, int X, int Y)
{
    int nc = x->nc, G = x->G, gX = GRP(x, X), gY = GRP(x, Y), sides[2] = {X, Y};
    size_t nt = 0;
    if (++x->stamp == 0) {
        memset(x->seen, 0, x->n * sizeof *x->seen);
        x->stamp = 1;
    }
    for (int s = 0; s < 2; s++)
        for (int i = x->mfirst[sides[s]]; i < x->mfirst[sides[s] + 1]; i++) {
            int e = x->mem[i];
            for (size_t p = x->off[e]; p < x->off[e + 1]; p++)
                if (x->seen[x->list[p]] != x->stamp) x->seen[x->list[p]] = x->stamp, x->touched[nt++] = x->list[p];
        }
    for (size_t i = 0; i < nt; i++) swap_terms(x, x->touched[i], X, Y);
    for (int e = 0; e < x->E; e++) {
        int32_t *z = x->Z + (size_t)e * nc, v = z[X];
        z[X] = z[Y], z[Y] = v;
        x->chip[e] = x->chip[e] == X ? Y : x->chip[e] == Y ? X : x->chip[e];
    }
    if (x->cl) {
        uint64_t l = x->cl[X];
        x->cl[X] = x->cl[Y], x->cl[Y] = l;
    }
    for (size_t i = 0; i < nt; i++) {
        size_t t = x->touched[i];
        uint8_t *ct = x->cnt + t * nc, *gt = x->gcnt + t * G, cx = ct[X], cy = ct[Y];
        ct[X] = cy, ct[Y] = cx;
        gt[gX] = gt[gX] - cx + cy, gt[gY] = gt[gY] - cy + cx;
    }
    for (int i = x->mfirst[X], j = x->mfirst[Y]; i < x->mfirst[X + 1]; i++, j++) {
        int e = x->mem[i];
        x->mem[i] = x->mem[j], x->mem[j] = e;
    }
}

/* Best-improvement descent over swaps of two equal-size chiplets' expert
 * sets between groups (only the group term changes). For X in group gX and
 * Y in gY, a token with experts on X only (cy = 0) leaves gX when X is its
 * only chiplet there and reaches gY when it had none there, so
 *     dJ / b = NC[X] - HC[X][gY] - AC[X] + NC[Y] - HC[Y][gX] - AC[Y] + c,
 * c >= 0 counting, over tokens with experts on both, those where X (Y) is
 * the only chiplet of its group: pairs whose terms without c cannot beat
 * the best change found are skipped (ties: the first pair X < Y).
 * Returns the swaps made. */
static long chiplet_descend(lat_ctx *x)
{
    long made = 0;
    int nc = x->nc, G = x->G;
    if (x->wb == 0 || G < 2) return 0;
    chip_build(x);
    for (;;) {
        int64_t best = 0;
        int bX = -1, bY = -1;
        size_t ncand = 0;
        for (int X = 0; X < nc; X++) {
            /* Y past X's group (the groups are runs of m chiplets), its group kept without dividing */
            int gX = GRP(x, X), Y0 = (gX + 1) * x->m > X + 1 ? (gX + 1) * x->m : X + 1;
            int gY = Y0 < nc ? GRP(x, Y0) : 0, next = (gY + 1) * x->m;
            for (int Y = Y0; Y < nc; Y++) {
                int d;
                if (Y == next) gY++, next += x->m;
                if (x->cap[X] != x->cap[Y]) continue;
                d = x->NC[X] - x->HC[(size_t)X * G + gY] - x->AC[X] + x->NC[Y] - x->HC[(size_t)Y * G + gX] - x->AC[Y];
                if (d >= 0) continue;
                x->ccand[ncand].delta = d, x->ccand[ncand].a = X, x->ccand[ncand].b = Y;
                ncand++;
            }
        }
        if (!ncand) break;
        mz_cand_heapify(x->ccand, ncand);
        while (ncand && x->ccand[0].delta <= best) {
            mz_swap_cand c = mz_cand_pop(x->ccand, &ncand);
            int X = c.a, Y = c.b;
            int64_t d = c.delta + chip_corr(x, X, Y);
            if (d < best || (d == best && d < 0 && (X < bX || (X == bX && Y < bY)))) best = d, bX = X, bY = Y;
        }
        if (bX < 0) break;
        chip_swap_apply(x, bX, bY);
        made++;
    }
    return made;
}

/* The search on one layer from chip[] (filled and feasible). */
static long lat_layer(int E, int nc, int G, int k, int wa, int wb, const uint16_t *ids, size_t stride, size_t n,
                      const int *cap, const uint64_t *V, uint64_t capv, int *chip)
{
    lat_ctx x;
    long swaps = 0;
    memset(&x, 0, sizeof x);
    x.E = E, x.nc = nc, x.G = G, x.m = nc / G, x.k = k, x.wa = wa, x.wb = wb;
    x.gof = mz_malloc(nc * sizeof *x.gof);
    for (int c = 0; c < nc; c++) x.gof[c] = c / x.m;
    x.n = n, x.chip = chip, x.cap = cap;
    {
        /* this layer's selections side by side (k a token, not every layer's): the searches read them often */
        uint16_t *lids = mz_malloc(n * k * sizeof *lids + 1);
        for (size_t t = 0; t < n; t++) memcpy(lids + t * k, ids + t * stride, k * sizeof *lids);
        x.ids = lids, x.stride = k;
    }
    if (capv != UINT64_MAX) {
        x.V = V, x.capv = capv, x.cl = mz_calloc(nc, sizeof *x.cl);
        for (int e = 0; e < E; e++) x.cl[chip[e]] += V[e];
    }
    x.off = mz_calloc(E + 1, sizeof *x.off);
    x.list = mz_malloc(n * k * sizeof *x.list + 1);
    x.cnt = mz_calloc(n * nc + 1, 1);
    x.gcnt = mz_calloc(n * G + 1, 1);
    x.Z = mz_calloc((size_t)E * nc, sizeof *x.Z);
    x.Zg = mz_calloc((size_t)E * G, sizeof *x.Zg);
    x.S = mz_calloc(E, sizeof *x.S);
    x.Sg = mz_calloc(E, sizeof *x.Sg);
    x.cand = mz_malloc(((size_t)E * (E - 1) / 2 + 1) * sizeof *x.cand);
    x.ccand = mz_malloc(((size_t)nc * (nc - 1) / 2 + 1) * sizeof *x.ccand);
    x.HC = mz_calloc((size_t)nc * G, sizeof *x.HC);
    x.NC = mz_calloc(nc, sizeof *x.NC);
    x.AC = mz_calloc(nc, sizeof *x.AC);
    x.mfirst = mz_calloc(nc + 1, sizeof *x.mfirst);
    x.mfill = mz_calloc(nc, sizeof *x.mfill);
    x.mem = mz_calloc(E, sizeof *x.mem);
    x.seen = mz_calloc(n + 1, sizeof *x.seen);
    x.touched = mz_calloc(n + 1, sizeof *x.touched);
    for (size_t t = 0; t < n; t++)
        for (int j = 0; j < k; j++) x.off[TOK(&x, t)[j] + 1]++;
    for (int e = 0; e < E; e++) x.off[e + 1] += x.off[e];
    {
        size_t *fill = mz_malloc(E * sizeof *fill);
        memcpy(fill, x.off, E * sizeof *fill);
        for (size_t t = 0; t < n; t++)
            for (int j = 0; j < k; j++) x.list[fill[TOK(&x, t)[j]]++] = (uint32_t)t;
        free(fill);
    }
    x.plist = mz_pairs_build(E, k, x.ids, x.stride, n, x.off, &x.poff);
    lat_build(&x);
    for (int round = 0; round < 8; round++) {
        long s = chiplet_descend(&x) + expert_descend(&x);
        swaps += s;
        if (!s) break;
    }
    free(x.off), free(x.list), free(x.cnt), free(x.gcnt), free(x.poff), free(x.plist), free(x.gof), free((void *)x.ids);
    free(x.Z), free(x.Zg), free(x.S), free(x.Sg), free(x.cand), free(x.cl);
    free(x.ccand), free(x.HC), free(x.NC), free(x.AC), free(x.mfirst), free(x.mfill), free(x.mem), free(x.seen), free(x.touched);
    return swaps;
}
#undef TOK
#undef GRP

/* ---------------------------------------------------------------- timing a candidate
 * The Mozart-C schedule of the profiled tokens under placement p
 * (mz-sched -V C with the wafer's SRAM), costed on the wafer (mz-cost):
 * the mean step latency, and C_T and its group-level count. */
typedef struct {
    mz_cost *c;
    double sum, ct, ctg, tok;
    int steps, fail;
} lat_timer;

static int timer_run(lat_timer *tm)
{
    mz_cost_row row;
    if (mz_cost_run(tm->c, &row) < 0) return -1;
    tm->sum += row.latency_s;
    tm->ct += row.ct * row.tokens, tm->ctg += row.ct_group * row.tokens, tm->tok += row.tokens;
    tm->steps++;
    return 0;
}

static int timer_put(void *arg, const mz_op *op)
{
    lat_timer *tm = arg;
    if (op->id > 0 && mz_cost_add(tm->c, op) < 0) return -1;
    if ((op->id == 0 || op->kind == MZ_OP_STAT) && mz_cost_pending(tm->c) && timer_run(tm) < 0) return -1;
    if (op->id == 0 && mz_cost_add(tm->c, op) < 0) return -1;
    return 0;
}

/* *cost: the costing object, made on the first candidate and reused for the
 * rest (what it reads from the header, the model, the placement's chiplets
 * and groups and the schedule's bytes per element, is the same for every
 * candidate; each step is costed alone), so that the step's arrays are
 * allocated once. */
static int time_placement(const mz_placelat_input *in, const mz_placement *p, mz_cost **cost, double *lat, double *ct,
                          double *ctg)
{
    mz_sched_opts so;
    mz_sched *s;
    mz_token tok;
    lat_timer tm = {0};
    uint32_t step = 0;
    int have = 0, ret = -1;
    mz_sched_opts_default(&so);
    so.overlap = 1, so.dedup = 1;
    snprintf(so.variant, sizeof so.variant, "C");
    so.sram_bytes = so.root_sram_bytes = in->w->sram_bytes;
    if (!(s = mz_sched_new(in->ti, p, &so))) return -1;
    if (!*cost) {
        mz_header h;
        mz_header_copy(&h, in->h);
        mz_placement_to_header(p, &h);
        mz_sched_opts_to_header(mz_sched_resolved(s), &h);
        *cost = mz_cost_new(in->w, &h);
        mz_header_free(&h);
        if (!*cost) {
            mz_sched_free(s);
            return -1;
        }
        mz_cost_set_lean(*cost); /* the latency and C_T are all it reads */
    }
    tm.c = *cost;
    mz_token_alloc(in->ti, &tok);
    for (size_t i = 0; i < in->n_recs; i++) {
        if (mz_token_decode(in->ti, in->recs + i * in->rec_size, in->rec_size, &tok) < 0) goto done;
        if (have && tok.step != step && mz_sched_emit(s, step, timer_put, &tm) != 0) goto done;
        step = tok.step, have = 1;
        mz_sched_add(s, &tok);
    }
    if (have && mz_sched_emit(s, step, timer_put, &tm) != 0) goto done;
    if (mz_cost_pending(tm.c) && timer_run(&tm) < 0) goto done;
    if (!tm.steps) {
        mz_error("latency placement: no profiled steps to time the candidates on");
        goto done;
    }
    *lat = tm.sum / tm.steps;
    *ct = tm.tok > 0 ? tm.ct / tm.tok : 0;
    *ctg = tm.tok > 0 ? tm.ctg / tm.tok : 0;
    if (!isfinite(*lat) || !(*lat > 0)) {
        mz_error("latency placement: the timing model gave a step latency of %g s", *lat);
        goto done;
    }
    ret = 0;
done:
    mz_token_free(&tok);
    mz_sched_free(s);
    return ret;
}

/* ---------------------------------------------------------------- the algorithm */
static void proxies(const mz_placement *p, const mz_priors *pr, double *maxload, double *gdev)
{
    int E = p->experts, nc = p->chiplets, G = p->groups;
    double ml = 0, gd = 0;
    uint64_t *cl = mz_calloc(nc, sizeof *cl), *gl = mz_calloc(G, sizeof *gl);
    for (int l = 0; l < p->n_layers; l++) {
        const uint64_t *V = pr->load + (size_t)l * E;
        uint64_t tot = 0, mx = 0;
        memset(cl, 0, nc * sizeof *cl), memset(gl, 0, G * sizeof *gl);
        for (int e = 0; e < E; e++) {
            int c = p->chiplet[(size_t)l * E + e];
            cl[c] += V[e], gl[mz_group_of(p, c)] += V[e], tot += V[e];
        }
        for (int c = 0; c < nc; c++)
            if (cl[c] > mx) mx = cl[c];
        if (tot) {
            double d = 0;
            ml += (double)mx * nc / tot;
            for (int g = 0; g < G; g++) {
                double x = fabs((double)gl[g] / tot - 1.0 / G);
                if (x > d) d = x;
            }
            gd += d;
        } else {
            ml += 1;
        }
    }
    *maxload = p->n_layers ? ml / p->n_layers : 0;
    *gdev = p->n_layers ? gd / p->n_layers : 0;
    free(cl), free(gl);
}

int mz_placelat_compute(mz_placement *p, const mz_priors *pr, const mz_place_opts *o, const mz_placelat_input *in,
                        mz_place_info *info, mz_placelat_result *res)
{
    static const char *const names[MZ_PLACELAT_CANDS] = {"contiguous", "mozart", "ctswap", "rdswap"};
    int E = p->experts, nc = p->chiplets, G = p->groups, n = p->n_layers;
    size_t cells = (size_t)n * E;
    int *chips = mz_malloc(MZ_PLACELAT_CANDS * cells * sizeof *chips), *cap = mz_malloc(nc * sizeof *cap);
    mz_place_info *li = mz_calloc((size_t)MZ_PLACELAT_CANDS * n, sizeof *li);
    mz_place_opts so = *o;
    mz_cost *cost = NULL;
    int wa = 4, wb = 0, ret = -1, best = -1, over[MZ_PLACELAT_CANDS];
    if (!pr || !pr->finished || pr->experts != E || pr->n_layers != n) {
        mz_error("latency placement needs the activation priors of the trace");
        goto done;
    }
    if (pr->topk > 255) {
        mz_error("latency placement counts experts per chiplet in bytes: top-k %d is more than 255", pr->topk);
        goto done;
    }
    if (in->w->topology == MZ_TOPO_TREE) {
        wb = 2 * in->w->multicast + in->w->reduce_forward + in->w->reduce_backward;
        wa = 4 - wb;
    }
    memset(res, 0, sizeof *res);
    res->n = MZ_PLACELAT_CANDS, res->wa = wa, res->wb = wb;
    mz_place_capacity(E, nc, cap);
    /* the candidates: the two layouts it must never lose to, ctswap, and the search from ctswap */
    for (int k = 0; k < MZ_PLACELAT_CANDS; k++) {
        int *chip = chips + k * cells;
        if (k < 3) {
            so.algorithm = k == 0 ? MZ_PLACE_CONTIGUOUS : k == 1 ? MZ_PLACE_MOZART : MZ_PLACE_CTSWAP;
            if (mz_place_compute(p, pr, &so, li + (size_t)k * n) < 0) goto done;
            memcpy(chip, p->chiplet, cells * sizeof *chip);
        } else {
            size_t stride = (size_t)n * pr->topk;
            memcpy(chip, chips + 2 * cells, cells * sizeof *chip);
            for (int l = 0; l < n; l++) {
                struct timespec t0, t1;
                mz_place_info *x = li + (size_t)k * n + l;
                *x = li[(size_t)2 * n + l];
                clock_gettime(CLOCK_MONOTONIC, &t0);
                const uint64_t *V = pr->load + (size_t)l * E;
                uint64_t capv = mz_place_load_cap(V, E, nc, o->max_load);
                if (pr->kept)
                    x->swaps += lat_layer(E, nc, G, pr->topk, wa, wb, pr->ids + (size_t)l * pr->topk, stride, pr->kept,
                                          cap, V, capv, chip + (size_t)l * E);
                x->over_cap = mz_place_over_cap(chip + (size_t)l * E, V, E, nc, capv);
                clock_gettime(CLOCK_MONOTONIC, &t1);
                x->seconds += (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (t1.tv_nsec - t0.tv_nsec);
            }
        }
        memcpy(p->chiplet, chip, cells * sizeof *chip);
        if (mz_placement_check(p) < 0) goto done;
        snprintf(p->algorithm, sizeof p->algorithm, "%s", names[k]);
        snprintf(res->name[k], sizeof res->name[k], "%s", names[k]);
        if (time_placement(in, p, &cost, &res->latency[k], &res->ct[k], &res->ct_group[k]) < 0) goto done;
        res->surrogate[k] = wa * res->ct[k] + wb * res->ct_group[k];
        proxies(p, pr, &res->max_load[k], &res->group_dev[k]);
        /* strictly faster to replace: ties keep the earlier candidate; with
         * a load cap, fewer layers over it first */
        over[k] = mz_place_cap_missed(p, li + (size_t)k * n, NULL, NULL);
        if (best < 0 || over[k] < over[best] || (over[k] == over[best] && res->latency[k] < res->latency[best]))
            best = k;
    }
    res->chosen = best;
    memcpy(p->chiplet, chips + best * cells, cells * sizeof *chips);
    snprintf(p->algorithm, sizeof p->algorithm, "latency");
    if (info)
        for (int l = 0; l < n; l++) {
            info[l] = li[(size_t)best * n + l];
            info[l].seconds = 0;
            for (int k = 0; k < MZ_PLACELAT_CANDS; k++) info[l].seconds += li[(size_t)k * n + l].seconds;
        }
    ret = mz_placement_check(p);
done:
    mz_cost_free(cost);
    free(chips), free(cap), free(li);
    return ret;
}

int mz_placelat_report_write(const mz_placelat_result *res, mz_out *out)
{
    if (mz_out_printf(out, "#mz-place\tlatency\tcopies_per_token:%d*ct_dedup+%d*ct_group\n", res->wa, res->wb) < 0 ||
        mz_out_puts(out, "candidate\tlatency_s\tcopies_per_token\tct_dedup\tct_group\tmax_chiplet_load_over_mean\t"
                         "max_group_share_dev\tchosen\n") < 0)
        return -1;
    for (int k = 0; k < res->n; k++)
        if (mz_out_printf(out, "%s\t%.6f\t%.4f\t%.4f\t%.4f\t%.4f\t%.5f\t%d\n", res->name[k], res->latency[k],
                          res->surrogate[k], res->ct[k], res->ct_group[k], res->max_load[k], res->group_dev[k],
                          k == res->chosen) < 0)
            return -1;
    return 0;
}
