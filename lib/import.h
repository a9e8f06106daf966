/* import.h: private to libmz: real routing logs (import.c). */
#ifndef MZ_IMPORT_H
#define MZ_IMPORT_H

#include "trace.h"

/* ---------------------------------------------------------------- import (import.c; mz-import)
 * Real routing logs to traces: the vLLM route-log JSONL ("meta" and "route"
 * lines) or a TSV/CSV of "sequence token layer id...". Malformed lines are
 * errors naming file and line; anomalies are reported, counted and dropped
 * only when asked. Memory grows with the longest sequence, not the log. */
enum {
    MZ_ANOM_RANGE,     /* expert id out of range */
    MZ_ANOM_DUPLICATE, /* an expert twice in one token's top-k */
    MZ_ANOM_COUNT,     /* not top-k ids (or weights) */
    MZ_ANOM_GAP,       /* tokens missing in a sequence, or a token missing layers */
    MZ_ANOM_REPEAT,    /* a token logged again for a layer */
    MZ_ANOM_WARMUP,    /* a long run of identical routes */
    MZ_ANOM_KINDS
};
const char *mz_anomaly_name(int kind);


typedef struct {
    long lines, rows, meta_lines;
    long skipped_rows;              /* rows of layers not asked for (-l) */
    uint64_t tokens_in, tokens;     /* tokens assembled, tokens kept */
    long seqs_in, seqs;             /* sequences in the log, in the trace */
    long found[MZ_ANOM_KINDS];      /* anomalies found */
    uint64_t dropped[MZ_ANOM_KINDS]; /* tokens (repeat: rows) dropped */
    long longest;                   /* longest sequence in the trace */
    long longest_src;               /* longest sequence of the log (tokens kept, before -L) */
    int packed;                     /* reported as packed batches */
} mz_import_counts;

typedef struct mz_import mz_import;
/* Close with mz_import_close; m and o must outlive it. */
mz_import *mz_import_open(const char *path, const mz_model *m, const mz_import_opts *o);
/* Read and check the whole log, spooling the kept tokens to a temporary
 * file. Returns 0, or -1 on malformed input or an I/O error. */
int mz_import_read(mz_import *im);
const mz_import_counts *mz_import_get_counts(const mz_import *im);
/* Anomaly kinds found but not allowed to be dropped (bits 1 << kind). */
unsigned mz_import_refused(const mz_import *im);
/* After a read: the trace header (@MD, @TR, @IM import section, @CO when
 * the log covers only some MoE layers). */
int mz_import_header(const mz_import *im, mz_header *h);
int mz_import_write(mz_import *im, mz_writer *w);
void mz_import_close(mz_import *im);

#endif
