/* placement.h: private to libmz: a placement of experts onto chiplets (placement.c). */
#ifndef MZ_PLACEMENT_H
#define MZ_PLACEMENT_H

#include "trace.h"

/* ---------------------------------------------------------------- placement
 * Which expert chiplet hosts each routed expert of each placed MoE layer.
 * Chiplet c hangs off switch (group) c * groups / chiplets: the hardware
 * fixes the groups, a placement chooses chiplets. Carried downstream as an
 * @PT line (topology, algorithm) and one @PL line per layer. */
typedef struct {
    int chiplets, groups;
    int experts, n_layers;
    int *layers;           /* placed MoE layer numbers, ascending */
    int *chiplet;          /* [n_layers * experts] */
    char algorithm[32];
    /* replicas read from a placement map (placemap.c): n_replicas triples
     * (layer number, expert, chiplet) of copies beyond each expert's primary
     * one in chiplet[]; reported and carried in @PR lines, not costed */
    int n_replicas, cap_replicas;
    int *replica;
} mz_placement;

/* Empty placement for the traced layers of t (chiplet = -1). p: free with mz_placement_free. */
int mz_placement_init(mz_placement *p, const mz_trace_info *t, int chiplets, int groups);
/* Expert e on chiplet e * chiplets / experts (the paper's default layout). */
void mz_placement_contiguous(mz_placement *p);
/* 1 and p filled if the header has a placement (free it with
 * mz_placement_free), 0 if it has none, -1 on error. */
int mz_placement_from_header(const mz_header *h, const mz_trace_info *t, mz_placement *p);
void mz_placement_to_header(const mz_placement *p, mz_header *h);
/* TSV "layer expert chiplet group" with a header line. */
int mz_placement_read_tsv(const char *path, const mz_trace_info *t, int chiplets, int groups,
                          mz_placement *p);
int mz_placement_write_tsv(const mz_placement *p, mz_out *out);
/* Every expert of every layer on exactly one chiplet in range. */
int mz_placement_check(const mz_placement *p);
void mz_placement_free(mz_placement *p);
static inline int mz_group_of(const mz_placement *p, int chiplet)
{
    return chiplet * p->groups / p->chiplets;
}
/* Row of layer (a layer number) in p, or -1. */
int mz_placement_slot(const mz_placement *p, int layer);

/* ---------------------------------------------------------------- replicas (replica.c; mz-place --replicas, -a eplb)
 * Extra copies of experts: p->replica triples (layer, expert, chiplet)
 * beside each expert's primary copy in p->chiplet. mz-sched splits an
 * expert's tokens between its copies and costs every copy (mz-model(7)
 * section 4.8). */
/* Append a copy of expert e of placement row slot on chiplet c. */
void mz_placement_add_replica(mz_placement *p, int slot, int e, int c);
/* Canonical form: each expert's primary copy is the one on its lowest
 * chiplet; replicas sorted by layer, expert, chiplet. */
void mz_placement_canon_replicas(mz_placement *p);
/* Add the copies of the @PR header lines to p (after its @PL rows). 0 or -1. */
int mz_replicas_from_header(const mz_header *h, mz_placement *p);
/* The token split: physical copy e < experts is expert e's primary, the
 * replicas of a layer are physical copies experts, experts + 1, ...; the
 * selections of an expert go to its copies in turn (round-robin, primary
 * first, counted over the trace in order). */
typedef struct {
    int n_layers, experts, maxp;
    int *nphys;          /* [n_layers] physical copies of each row */
    int *chip;           /* [n_layers * maxp] chiplet of each physical copy */
    int *off, *lst;      /* [n_layers * (experts + 1)] offsets into lst: each expert's copies, primary first */
    uint64_t *rr;        /* [n_layers * experts] selections routed so far */
} mz_route;
/* r: free with mz_route_free. */
int mz_route_init(mz_route *r, const mz_placement *p);
void mz_route_free(mz_route *r);
/* The physical copy that takes this selection of expert e in row slot. */
static inline int mz_route_copy(mz_route *r, int slot, int e)
{
    size_t i = (size_t)slot * (r->experts + 1) + e;
    int n = r->off[i + 1] - r->off[i];
    if (n == 1) return e;
    return r->lst[r->off[i] + (int)(r->rr[(size_t)slot * r->experts + e]++ % (uint64_t)n)];
}

#endif
