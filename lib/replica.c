/* replica.c: extra copies of hot experts (mz-place --replicas, -a eplb): where a copy fits, how tokens split between copies. */
#include <stdlib.h>
#include <string.h>

#include "place.h"

/* ------------------------------------------------------------------ bookkeeping */
void mz_placement_add_replica(mz_placement *p, int slot, int e, int c)
{
    if (p->n_replicas == p->cap_replicas) {
        p->cap_replicas = p->cap_replicas ? 2 * p->cap_replicas : 64;
        p->replica = mz_realloc(p->replica, (size_t)p->cap_replicas * 3 * sizeof *p->replica);
    }
    p->replica[3 * p->n_replicas] = p->layers[slot];
    p->replica[3 * p->n_replicas + 1] = e;
    p->replica[3 * p->n_replicas + 2] = c;
    p->n_replicas++;
}

static int cmp_triple(const void *a, const void *b)
{
    const int *x = a, *y = b;
    for (int k = 0; k < 3; k++)
        if (x[k] != y[k]) return x[k] < y[k] ? -1 : 1;
    return 0;
}

/* Canonical form: every expert's primary copy is its copy on the lowest
 * chiplet (the lowest physical slot of a SGLang or EPLB map), the replicas
 * sorted by layer, expert and chiplet. Copies are identical, so this changes
 * no copy's place; it makes a placement and its maps round-trip exactly. */
void mz_placement_canon_replicas(mz_placement *p)
{
    for (int i = 0; i < p->n_replicas; i++) {
        int slot = mz_placement_slot(p, p->replica[3 * i]), *r = p->replica + 3 * i;
        int *prim = &p->chiplet[(size_t)slot * p->experts + r[1]];
        if (r[2] < *prim) {
            int c = *prim;
            *prim = r[2];
            r[2] = c;
        }
    }
    if (p->n_replicas > 1) qsort(p->replica, p->n_replicas, 3 * sizeof *p->replica, cmp_triple);
}

int mz_replicas_from_header(const mz_header *h, mz_placement *p)
{
    mz_buf val = {0};
    char **f = NULL;
    int nf = 0;
    for (int n = 0, i; (i = mz_header_find(h, "@PR", n)) >= 0; n++) {
        long layer, v[2];
        int slot, k;
        if (mz_header_long(h, i, "layer", 0, 1L << 30, &layer) < 0) goto fail;
        if ((slot = mz_placement_slot(p, (int)layer)) < 0) {
            mz_error("header @PR: layer %ld is not a placed layer", layer);
            goto fail;
        }
        mz_buf_reserve(&val, (size_t)1 << 16);
        for (;;) {
            if (!mz_header_value(h, i, "copies", val.s, val.m)) {
                mz_error("header @PR layer %ld: no copies field", layer);
                goto fail;
            }
            if (strlen(val.s) + 1 < val.m) break;
            mz_buf_reserve(&val, 2 * val.m);
        }
        for (k = 1; val.s[k - 1]; k++) {}
        if (k > nf) f = mz_realloc(f, (size_t)k * sizeof *f), nf = k;
        k = mz_split(val.s, ',', f, nf);
        for (int j = 0; j < k; j++) {
            char *eq = strchr(f[j], '=');
            if (!eq) {
                mz_error("header @PR layer %ld: copy '%s' is not EXPERT=CHIPLET", layer, f[j]);
                goto fail;
            }
            *eq = '\0';
            if (mz_parse_long(f[j], 0, p->experts - 1, "header @PR expert", &v[0]) < 0 ||
                mz_parse_long(eq + 1, 0, p->chiplets - 1, "header @PR chiplet", &v[1]) < 0)
                goto fail;
            mz_placement_add_replica(p, slot, (int)v[0], (int)v[1]);
        }
    }
    free(f);
    mz_buf_free(&val);
    return 0;
fail:
    free(f);
    mz_buf_free(&val);
    return -1;
}

/* ------------------------------------------------------------------ the token split */
int mz_route_init(mz_route *r, const mz_placement *p)
{
    int E = p->experts, L = p->n_layers, *n = mz_calloc((size_t)L * E, sizeof *n);
    size_t total = (size_t)L * E;
    memset(r, 0, sizeof *r);
    r->n_layers = L, r->experts = E;
    for (int i = 0; i < p->n_replicas; i++) {
        int slot = mz_placement_slot(p, p->replica[3 * i]);
        if (slot < 0) continue;
        n[(size_t)slot * E + p->replica[3 * i + 1]]++;
    }
    r->nphys = mz_calloc(L, sizeof *r->nphys);
    r->maxp = E;
    for (int l = 0; l < L; l++) {
        r->nphys[l] = E;
        for (int e = 0; e < E; e++) r->nphys[l] += n[(size_t)l * E + e];
        if (r->nphys[l] > r->maxp) r->maxp = r->nphys[l];
    }
    total += p->n_replicas;
    r->chip = mz_malloc((size_t)L * r->maxp * sizeof *r->chip);
    r->off = mz_malloc(((size_t)L * (E + 1) + 1) * sizeof *r->off);
    r->lst = mz_malloc(total * sizeof *r->lst);
    r->rr = mz_calloc((size_t)L * E, sizeof *r->rr);
    /* copies of expert e in layer l: its primary (physical copy e), then its
     * replicas in the placement's order (physical copies E, E + 1, ...) */
    {
        size_t o = 0;
        for (int l = 0; l < L; l++) {
            int next = E;
            for (int e = 0; e < E; e++) {
                r->off[(size_t)l * (E + 1) + e] = (int)o;
                r->chip[(size_t)l * r->maxp + e] = p->chiplet[(size_t)l * E + e];
                r->lst[o++] = e;
                for (int i = 0; i < p->n_replicas; i++)
                    if (p->replica[3 * i] == p->layers[l] && p->replica[3 * i + 1] == e) {
                        r->chip[(size_t)l * r->maxp + next] = p->replica[3 * i + 2];
                        r->lst[o++] = next++;
                    }
            }
            r->off[(size_t)l * (E + 1) + E] = (int)o;
        }
    }
    free(n);
    return 0;
}

void mz_route_free(mz_route *r)
{
    free(r->nphys), free(r->chip), free(r->off), free(r->lst), free(r->rr);
    memset(r, 0, sizeof *r);
}

/* ------------------------------------------------------------------ capacity (mz-model(7) section 5) */
void mz_replica_cap_init(mz_replica_cap *cap, const mz_trace_info *t, const mz_wafer *w, int chiplets)
{
    const mz_model *m = &t->model;
    mz_sched_opts o;
    mz_sched_opts_default(&o);
    memset(cap, 0, sizeof *cap);
    cap->sram = w ? w->sram_bytes : 0;
    cap->dram = w ? w->mem_capacity_GB * 1e9 * w->stacks_per_group : 0;
    cap->dram_enforced = w && w->spill_GBps > 0 && cap->dram > 0;
    cap->ew = m->weight_bytes > 0 ? m->weight_bytes : o.bytes;
    cap->P_e = mz_model_expert_params(m);
    cap->grad = o.grad_bytes;
    /* spread shared experts: as mz-sched decides it (section 4.6) */
    if (m->shared > 0 && w && w->sram_bytes > 0) {
        double ow = m->other_weight_bytes > 0 ? m->other_weight_bytes : o.bytes;
        double block = ow * (mz_model_attn_params(m) + 2.0 * m->hidden + (double)m->hidden * m->experts) +
                       cap->ew * m->shared * mz_model_shared_params(m);
        if (2 * block > w->sram_bytes) cap->spread = m->shared * mz_model_shared_params(m) / chiplets;
    }
    /* the buffers of a slice (mz-sched's defaults: 4 micro-batches, 8 slices) */
    cap->tokens_slice = (double)t->seqs * t->seq_len / o.micro_batches / o.slices;
    cap->per_tok_h = m->hidden, cap->per_tok_f = (m->gated ? 2.0 : 1.0) * m->ffn;
    cap->topk = m->topk, cap->experts = m->experts, cap->bytes = o.bytes;
    cap->depth_f = cap->depth_b = 2;
}

/* Buffers of a chiplet with n copies (sched.c sram_buffers). */
static double buffers(const mz_replica_cap *cap, int n, int bwd)
{
    double share = 2.0 * cap->topk * n / cap->experts;
    double per_tok = cap->per_tok_h * 2 * (share < 1 ? share : 1) + share * cap->per_tok_f;
    double b = cap->bytes * cap->tokens_slice * per_tok;
    return bwd ? 2 * b : b;
}

double mz_replica_sram_need(const mz_replica_cap *cap, int n)
{
    double w = cap->ew * (n * cap->P_e + cap->spread), g = w / cap->ew * cap->grad;
    double f = cap->depth_f * w + buffers(cap, n, 0), b = cap->depth_b * w + g + buffers(cap, n, 1);
    return f > b ? f : b;
}

/* The depths the schedule takes for the placement without copies
 * (sched.c resolve): copies must not lower them. */
static void base_depths(mz_replica_cap *cap, const mz_placement *p)
{
    double ff = 1e300, fb = 1e300;
    int *n = mz_calloc(p->chiplets, sizeof *n);
    cap->depth_f = cap->depth_b = 1;
    if (!(cap->sram > 0)) goto done;
    for (int l = 0; l < p->n_layers; l++) {
        memset(n, 0, p->chiplets * sizeof *n);
        for (int e = 0; e < p->experts; e++) n[p->chiplet[(size_t)l * p->experts + e]]++;
        for (int c = 0; c < p->chiplets; c++) {
            double w = cap->ew * (n[c] * cap->P_e + cap->spread), g = w / cap->ew * cap->grad;
            if (!(w > 0)) continue;
            if ((cap->sram - buffers(cap, n[c], 0)) / w < ff) ff = (cap->sram - buffers(cap, n[c], 0)) / w;
            if ((cap->sram - buffers(cap, n[c], 1) - g) / w < fb) fb = (cap->sram - buffers(cap, n[c], 1) - g) / w;
        }
    }
    cap->depth_f = ff >= 2 ? 2 : 1;
    cap->depth_b = fb >= 2 ? 2 : 1;
done:
    free(n);
}

/* Weight bytes of one copy. */
static double copy_bytes(const mz_replica_cap *cap) { return cap->ew * cap->P_e; }

/* Group DRAM weights of every layer (copies included). */
static void group_weights(const mz_replica_cap *cap, const mz_placement *p, double *gw)
{
    memset(gw, 0, p->groups * sizeof *gw);
    for (int l = 0; l < p->n_layers; l++) {
        for (int e = 0; e < p->experts; e++) gw[mz_group_of(p, p->chiplet[(size_t)l * p->experts + e])] += copy_bytes(cap);
        for (int c = 0; c < p->chiplets; c++) gw[mz_group_of(p, c)] += cap->ew * cap->spread;
    }
    for (int i = 0; i < p->n_replicas; i++) gw[mz_group_of(p, p->replica[3 * i + 2])] += copy_bytes(cap);
}

/* ------------------------------------------------------------------ --replicas N */
int mz_place_replicas(mz_placement *p, const mz_priors *pr, int nrep, mz_replica_cap *cap, mz_replica_stats *st)
{
    int E = p->experts, C = p->chiplets;
    int *copies = mz_malloc(E * sizeof *copies), *n = mz_malloc(C * sizeof *n);
    uint8_t *has = mz_malloc((size_t)E * C), *dead = mz_malloc(E);
    double *cl = mz_malloc(C * sizeof *cl), *gw = mz_malloc(p->groups * sizeof *gw);
    memset(st, 0, sizeof *st);
    base_depths(cap, p);
    group_weights(cap, p, gw);
    for (int l = 0; l < p->n_layers; l++) {
        const uint64_t *V = pr->load + (size_t)l * E;
        int placed = 0, no_sram = 0, no_dram = 0;
        memset(has, 0, (size_t)E * C);
        memset(dead, 0, E);
        memset(n, 0, C * sizeof *n);
        memset(cl, 0, C * sizeof *cl);
        for (int e = 0; e < E; e++) {
            int c = p->chiplet[(size_t)l * E + e];
            copies[e] = 1, has[(size_t)e * C + c] = 1, n[c]++, cl[c] += (double)V[e];
        }
        while (placed < nrep) {
            int best = -1, host = -1, why_sram = 0, why_dram = 0;
            /* the expert of the highest load per copy (ties: lowest id) */
            for (int e = 0; e < E; e++)
                if (!dead[e] && V[e] > 0 && (best < 0 || (double)V[e] / copies[e] > (double)V[best] / copies[best]))
                    best = e;
            if (best < 0) break;
            /* onto the chiplet with the fewest copies (the weights it streams), then the least load
             * (ties: lowest), that has no copy of it yet and where the copy fits */
            for (int c = 0; c < C; c++) {
                int g = mz_group_of(p, c);
                if (has[(size_t)best * C + c]) continue;
                if (cap->sram > 0 && mz_replica_sram_need(cap, n[c] + 1) > cap->sram) {
                    why_sram = 1;
                    continue;
                }
                if (cap->dram_enforced && gw[g] + copy_bytes(cap) > cap->dram) {
                    why_dram = 1;
                    continue;
                }
                if (host < 0 || n[c] < n[host] || (n[c] == n[host] && cl[c] < cl[host])) host = c;
            }
            if (host < 0) {
                /* a copy that does not fit is not placed; a cooler expert may still fit elsewhere */
                dead[best] = 1;
                no_sram |= why_sram, no_dram |= why_dram;
                continue;
            }
            for (int c = 0; c < C; c++)
                if (has[(size_t)best * C + c]) cl[c] -= (double)V[best] / copies[best] - (double)V[best] / (copies[best] + 1);
            copies[best]++;
            cl[host] += (double)V[best] / copies[best];
            has[(size_t)best * C + host] = 1;
            n[host]++;
            if (!cap->dram_enforced && cap->dram > 0 && gw[mz_group_of(p, host)] + copy_bytes(cap) > cap->dram)
                st->over_dram++;
            gw[mz_group_of(p, host)] += copy_bytes(cap);
            mz_placement_add_replica(p, l, best, host);
            placed++;
        }
        st->placed += placed;
        if (placed < nrep) st->short_layers++;
        /* the copies not placed for want of room (the others: no expert with load left to split) */
        if (placed < nrep && (no_sram || no_dram)) {
            st->refused += nrep - placed;
            st->refused_sram += no_sram ? nrep - placed : 0;
            st->refused_dram += no_dram ? nrep - placed : 0;
        }
    }
    mz_placement_canon_replicas(p);
    free(copies), free(n), free(has), free(dead), free(cl), free(gw);
    return 0;
}

/* ------------------------------------------------------------------ -a eplb */
/* DeepSeek EPLB's global policy (test/eplb.awk is the same in awk): the
 * redundant slots go one by one to the expert of the highest load per copy
 * (ties: lowest id); then the slots, heaviest first (ties: lowest slot), go to
 * the chiplet of least load that has room (ties: lowest chiplet). Chiplets
 * have the slot counts of the contiguous layout of E + R slots. */
int mz_place_eplb(mz_placement *p, const mz_priors *pr, int nrep, mz_replica_cap *cap, mz_replica_stats *st)
{
    int E = p->experts, C = p->chiplets, R = nrep;
    int *capc = mz_malloc(C * sizeof *capc);
    double *gw = mz_calloc(p->groups, sizeof *gw);
    memset(st, 0, sizeof *st);
    /* the copies every layer gets: the most that fit (the chiplets' slots are the same in every layer) */
    mz_placement_contiguous(p);
    base_depths(cap, p);
    for (; R > 0; R--) {
        int sram_ok = 1, dram_ok = 1;
        mz_place_capacity(E + R, C, capc);
        memset(gw, 0, p->groups * sizeof *gw);
        for (int c = 0; c < C; c++) {
            if (cap->sram > 0 && mz_replica_sram_need(cap, capc[c]) > cap->sram) sram_ok = 0;
            gw[mz_group_of(p, c)] += p->n_layers * cap->ew * (capc[c] * cap->P_e + cap->spread);
        }
        for (int g = 0; g < p->groups; g++)
            if (cap->dram_enforced && gw[g] > cap->dram) dram_ok = 0;
        if (sram_ok && dram_ok) break;
        st->refused += p->n_layers;
        st->refused_sram += sram_ok ? 0 : p->n_layers;
        st->refused_dram += dram_ok ? 0 : p->n_layers;
    }
    mz_place_capacity(E + R, C, capc);
    {
        int P = E + R, *phy = mz_malloc(P * sizeof *phy), *cnt = mz_malloc(E * sizeof *cnt);
        int *rn = mz_malloc(C * sizeof *rn);
        uint8_t *used = mz_malloc(P);
        double *load = mz_malloc(P * sizeof *load), *rl = mz_malloc(C * sizeof *rl);
        for (int l = 0; l < p->n_layers; l++) {
            const uint64_t *V = pr->load + (size_t)l * E;
            for (int e = 0; e < E; e++) cnt[e] = 1, phy[e] = e, p->chiplet[(size_t)l * E + e] = -1;
            for (int s = E; s < P; s++) {
                int best = 0;
                for (int e = 1; e < E; e++)
                    if ((double)V[e] / cnt[e] > (double)V[best] / cnt[best]) best = e;
                phy[s] = best, cnt[best]++;
            }
            for (int s = 0; s < P; s++) load[s] = (double)V[phy[s]] / cnt[phy[s]], used[s] = 0;
            for (int c = 0; c < C; c++) rl[c] = 0, rn[c] = 0;
            for (int k = 0; k < P; k++) {
                int b = -1, t = -1;
                for (int s = 0; s < P; s++)
                    if (!used[s] && (b < 0 || load[s] > load[b])) b = s;
                used[b] = 1;
                for (int c = 0; c < C; c++)
                    if (rn[c] < capc[c] && (t < 0 || rl[c] < rl[t])) t = c;
                rn[t]++, rl[t] += load[b];
                if (p->chiplet[(size_t)l * E + phy[b]] < 0)
                    p->chiplet[(size_t)l * E + phy[b]] = t;
                else
                    mz_placement_add_replica(p, l, phy[b], t);
            }
        }
        st->placed = R * p->n_layers;
        free(phy), free(cnt), free(rn), free(used), free(load), free(rl);
    }
    snprintf(p->algorithm, sizeof p->algorithm, "eplb");
    mz_placement_canon_replicas(p);
    free(capc), free(gw);
    return 0;
}
