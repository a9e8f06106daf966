/* timing.h: private to the timing model (fabric.c, timing.c, cost.c, calibrate.c): the fabric's insides. */
#ifndef MZ_TIMING_H
#define MZ_TIMING_H

#include "mz.h"

/* ------------------------------------------------------------------ fabric
 * Rate classes: every resource of a class runs at the class's rate. */
enum { R_CA, R_C, R_RP, R_S, R_M, R_MA, R_D, R_DA, R_L, R_RL, R_NCLASS };

struct mz_fabric {
    int topo, C, G, per;     /* wafer: expert chiplets, groups, chiplets per group */
    int Cp, Gp;              /* the placement's */
    int *pmap;               /* [Cp] wafer chiplet of each placement chiplet */
    int n, cap;
    char (*name)[24];
    int *type, *cls;
    double *rate;
    double class_rate[R_NCLASS];
    double sram_rate, hop_s;
    int multicast, reduce_fwd, reduce_bwd;
    /* routes: CSR lists of (resource, hops) */
    int nroutes, rcap, ucap, nuse;
    int *rptr, *rres, *rhops;
    int r_root_read, r_root_write;
    int *r_mem_down, *r_mem_up, *r_a2a_down, *r_a2a_up; /* [C] */
    int ca, *chip;           /* compute resources; chip[C] */
    int *rp;                 /* [G] root port resource used for group g */
};

#define EPS 1e-15

/* The files (and -s overrides) of a wafer, for errors about a wafer that
 * does not fit a schedule. Returns buf. */
const char *mz_wafer_files(const mz_wafer *w, char *buf, size_t size);

#endif
