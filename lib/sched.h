/* sched.h: private to libmz: schedule streams and their builder (sched.c, schedrec.c). */
#ifndef MZ_SCHED_H
#define MZ_SCHED_H

#include "placement.h"

/* ---------------------------------------------------------------- schedules (sched.c; mz-sched)
 * A schedule stream (kind 'S') holds, per training step, the operations of
 * the step in stream order: what each op does (kind, category, layer,
 * micro-batch, direction, token slice), how much (terms: a logical endpoint
 * and a quantity in FLOPs or bytes), what it waits for (dependency ids of
 * earlier ops of the same step) and, for Baseline, its barrier phase.
 * Endpoints are logical (root, chiplet c, group g, their DRAM); mz-cost maps
 * them onto a wafer's links. Record format: lib/mzs.5. */
enum {
    MZ_OP_STAT,          /* per-step counts (C_T) and footprint; not a task */
    MZ_OP_ROOT_LOAD,     /* root weights (a block's, or the LM head's) from root DRAM */
    MZ_OP_ROOT_ACT_LOAD, /* bwd: saved root activations from root DRAM */
    MZ_OP_ATT,           /* attention + router on the root */
    MZ_OP_DENSE_FFN,     /* dense FFN block on the root */
    MZ_OP_SHARED,        /* shared experts on the root */
    MZ_OP_ATT_SAVE,      /* fwd: root activations to root DRAM */
    MZ_OP_ATT_WB,        /* bwd: root weight update, written to root DRAM */
    MZ_OP_LOAD,          /* expert weights, group DRAM -> chiplet */
    MZ_OP_ACT_LOAD,      /* bwd: saved expert activations, group DRAM -> chiplet */
    MZ_OP_DISPATCH,      /* all-to-all, root -> chiplets of one group */
    MZ_OP_EXPERT,        /* expert compute on one chiplet */
    MZ_OP_COMBINE,       /* all-to-all, chiplets of one group -> root */
    MZ_OP_SAVE,          /* fwd: expert activations, chiplet -> group DRAM */
    MZ_OP_GRAD_WB,       /* bwd: expert update (or gradient accumulation) in group DRAM */
    MZ_OP_EMBED,         /* embedding rows: gathered (fwd), updated (bwd) in root DRAM */
    MZ_OP_LM_HEAD,       /* LM head and loss on the root, all tokens of a visit */
    MZ_OP_NKINDS
};
enum {
    MZ_CAT_NONE, MZ_CAT_ATT, MZ_CAT_EXPERT, MZ_CAT_DRAM, MZ_CAT_ACT, MZ_CAT_DISPATCH, MZ_CAT_COMBINE,
    MZ_NCATS
};
/* Term types: the logical endpoint of a quantity. index is a chiplet
 * (placement numbering) or a group, else 0; footprint terms index a memory
 * (mzs(5): groups 0..G-1, root DRAM G, chiplet c's SRAM G+1+c, root SRAM G+1+C). */
enum {
    MZ_Q_ROOT_FLOP,    /* FLOPs on the attention chiplet (reported, not timed) */
    MZ_Q_CHIP_FLOP,    /* FLOPs on expert chiplet index (reported, not timed) */
    MZ_Q_ROOT_READ,    /* bytes root DRAM -> root */
    MZ_Q_ROOT_WRITE,   /* bytes root -> root DRAM */
    MZ_Q_MEM_READ,     /* bytes DRAM of the chiplet's group -> chiplet index */
    MZ_Q_MEM_WRITE,    /* bytes chiplet index -> DRAM of its group */
    MZ_Q_A2A_CHIP,     /* bytes root <-> chiplet index (direction from the op kind) */
    MZ_Q_A2A_GROUP,    /* bytes at the root for group index when its switch aggregates */
    MZ_Q_ROOT_TOKENS,  /* tokens of a root compute op (its matrix rows) */
    MZ_Q_ROOT_CTX,     /* attention: positions attended, summed over the op's tokens */
    MZ_Q_CHIP_TOKENS,  /* routed token-expert pairs of an expert op on chiplet index */
    MZ_Q_CHIP_EXPERTS, /* routed experts with at least one of those tokens */
    MZ_Q_CHIP_SHARED,  /* tokens through the chiplet's slice of the shared experts (spread) */
    MZ_Q_TOKENS,       /* stat: tokens x MoE layers of the step */
    MZ_Q_COPIES,       /* stat: routed copies the variant dispatches (C_T numerator) */
    MZ_Q_GROUP_COPIES, /* stat: distinct groups per token, summed */
    MZ_Q_FOOT_WEIGHTS, /* stat: bytes of weights resident in memory index */
    MZ_Q_FOOT_GRADS,   /* stat: bytes of gradient accumulators */
    MZ_Q_FOOT_STATE,   /* stat: bytes of optimizer state */
    MZ_Q_FOOT_ACTS,    /* stat: bytes of activations (saved for backward, or buffers) at the peak */
    MZ_Q_NTYPES
};
typedef struct {
    int type, index;
    double q;
} mz_term;
typedef struct {
    uint32_t step, id;     /* id: 0, 1, ... within the step, in stream order */
    int layer, mb, slice;  /* slice -1: the whole micro-batch (or visit) */
    int dir;               /* 0 forward, 1 backward */
    int kind, cat;
    uint32_t phase;        /* Baseline barrier phase; 0: no barrier */
    int nterms, ndeps;
    mz_term *term;         /* buffers owned by the op, grown by mz_op_decode */
    uint32_t *dep;
    int term_cap, dep_cap;
} mz_op;
const char *mz_op_kind_name(int kind);
const char *mz_op_cat_name(int cat);   /* att_compute, expert_compute, ... */
const char *mz_term_name(int type);
int mz_op_cat_of(int kind);
/* Decode a binary schedule record into op (buffers reused). -1 if corrupt. */
int mz_op_decode(const uint8_t *rec, size_t len, mz_op *op);
/* Append the binary record of op to out. */
void mz_op_encode(const mz_op *op, mz_buf *out);
void mz_op_free(mz_op *op);
/* Make room in op for terms and deps (buffers grow, never shrink). */
void mz_op_reserve(mz_op *op, int terms, int deps);

/* Optimizer state bytes per parameter read and written at the update. */
int mz_sched_state_bytes(const mz_sched_opts *o);
const char *mz_sched_order_name(int order);
const char *mz_sched_shared_name(int shared_on);
const char *mz_sched_optimizer_name(int optimizer);
void mz_sched_opts_default(mz_sched_opts *o);
/* The @SC header line of a schedule, and back. */
void mz_sched_opts_to_header(const mz_sched_opts *o, mz_header *h);
int mz_sched_opts_from_header(const mz_header *h, mz_sched_opts *o);

typedef struct mz_sched mz_sched;
/* A schedule builder for trace t under placement p (both must outlive it).
 * Refuses traces that do not cover every MoE layer. Free with mz_sched_free. */
mz_sched *mz_sched_new(const mz_trace_info *t, const mz_placement *p, const mz_sched_opts *o);
/* The options as the builder resolved them: order, shared_on and the
 * prefetch depths decided (valid while s lives). */
const mz_sched_opts *mz_sched_resolved(const mz_sched *s);
/* Count one token of the current step. */
void mz_sched_add(mz_sched *s, const mz_token *tok);
/* Emit the ops of the step counted so far (calling put for each, in order)
 * and clear the counts. Returns 0, or the first nonzero value of put. */
int mz_sched_emit(mz_sched *s, uint32_t step, int (*put)(void *arg, const mz_op *op), void *arg);
void mz_sched_free(mz_sched *s);

#endif
