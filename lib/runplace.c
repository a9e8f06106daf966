/* runplace.c: mz-place's work: place a trace's experts and pass the trace on with the placement (mz_place_run). */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "place.h"
#include "opt.h"

/* -a latency (placelat.c): it needs the priors and a token sample, as
 * ctswap does, so it runs on ctswap's path here. */
#define LATENCY_ALGO "latency"

void mz_place_run_opts_init(mz_place_run_opts *o)
{
    memset(o, 0, sizeof *o);
    o->prog = "mz-place";
    o->algorithm = "mozart";
    o->chiplets = 16, o->groups = 4;
    o->seed = 1;
    o->sample = 65536, o->alloc_nodes = 100000;
    o->format = -1;
    o->level = 1;
}

/* The algorithm number of a name (latency: ctswap's), or -1 and the error. */
static int algorithm_of(const char *name)
{
    int algo = strcmp(name, LATENCY_ALGO) == 0 ? MZ_PLACE_CTSWAP : mz_place_algorithm_parse(name);
    if (algo < 0) mz_error("--algorithm: unknown algorithm '%s'", name);
    return algo;
}

int mz_place_run_check(const mz_place_run_opts *o)
{
    int latency = strcmp(o->algorithm, LATENCY_ALGO) == 0;
    if (algorithm_of(o->algorithm) < 0) return -1;
    /* the command line's ranges, for callers other than it */
    if (o->chiplets < 1 || o->groups < 1 || o->chiplets > 65536 || o->groups > 65536 || o->profile < 0 ||
        o->sample < 1 || o->kicks < 0 || o->alloc_nodes < 0 || o->replicas < 0 || o->replicas > 65535 ||
        o->seed > 0xffffffffUL || o->level < 0 || o->level > 9 || o->format < -1 || o->format > MZ_PLACEMAP_EPLB) {
        mz_error("an option out of its range (mz-place --help)");
        return -1;
    }
    if (o->text && o->level == 0) {
        mz_error("-u and -t exclude each other");
    } else if (o->read_placement && (o->write_placement || o->algorithm_given)) {
        mz_error("--read-placement excludes --write-placement and --algorithm");
    } else if (o->chiplets % o->groups) {
        mz_error("%d chiplets cannot form %d equal groups", o->chiplets, o->groups);
    } else if (!latency && (o->n_sets || o->n_wafers) && !o->replicas) {
        mz_error("-w and -S give the wafer of -a latency or --replicas");
    } else if (!latency && o->latency_report) {
        mz_error("--latency-report is for -a latency");
    } else if (latency && o->replicas) {
        mz_error("-a latency times its candidates without copies: it excludes --replicas");
    } else if (latency && !o->n_wafers) {
        mz_error("-a latency times its candidates on a wafer: give it with -w (e.g. -w wafer-qwen3-30b-a3b)");
    } else if (o->read_placement && o->replicas) {
        mz_error("--read-placement excludes --replicas (the file's copies are kept)");
    } else if (o->replicas && !o->n_wafers) {
        mz_error("--replicas places copies where the wafer's SRAM and DRAM hold them: give the wafer with -w");
    } else if (o->format >= 0 && !o->read_placement && !o->write_placement) {
        mz_error("--format is the format of a -R or -W file");
    } else {
        return 0;
    }
    return -1;
}

/* Which steps are profiled: the first n distinct steps (0: all). Records
 * are ordered by step, so a new step number is a new step. */
typedef struct {
    long n;
    int started, seen;
    uint32_t last;
} profiler;

static int profiled(profiler *p, uint32_t step)
{
    if (!p->started || step != p->last) p->seen++, p->last = step, p->started = 1;
    return p->n == 0 || p->seen <= p->n;
}

/* Whether the second pass should read a spooled copy instead of the input:
 * always for a pipe or standard input; for a regular file when reading it
 * again costs what the first read did, a second gzip decompression or text
 * parse. An uncompressed binary file is read again through the descriptor
 * opened, each record checked against the first pass (mz_reader_rewind). */
static int spool_input(const mz_trace_reader *tr)
{
    return !mz_reader_is_regular(tr->r) || mz_reader_is_text(tr->r) || mz_reader_is_gzip(tr->r);
}

/* A view of p with one "expert" per physical copy (the route's numbering),
 * for the C_T and balance report of a placement with replicas. */
static void physical_view(const mz_placement *p, const mz_route *r, mz_placement *v)
{
    memset(v, 0, sizeof *v);
    v->chiplets = p->chiplets, v->groups = p->groups, v->n_layers = p->n_layers, v->experts = r->maxp;
    v->layers = p->layers;
    v->chiplet = r->chip;
    memcpy(v->algorithm, p->algorithm, sizeof v->algorithm);
}

/* One run: what it holds, all of it released by run_free. */
typedef struct {
    const mz_place_run_opts *o;
    const char *in_path;
    int latency, algo, needs_priors, map_format, from_spool, steps_seen, group_alloc;
    double alloc_gap;
    mz_wafer wf;
    mz_trace_reader tr;
    mz_trace_info *ti;
    uint8_t *rec;
    size_t rec_size;
    mz_placement pl;
    mz_place_info *info;
    mz_place_opts popts;
    mz_priors pr;
    mz_replica_cap cap;
    mz_replica_stats rst;
    mz_spool *spool;
    mz_buf lrec;          /* -a latency: the profiled tokens' records, to time the candidates on */
    size_t n_lrec;
    mz_placelat_result lres;
    profiler prof;
    uint64_t n_first, n_second;
    mz_header h;
    mz_writer *w;
    mz_route route;       /* with replicas the report sees each selection on the copy that takes it */
    mz_placement view;
    mz_token ptok;
    mz_place_eval ev;
} run;

/* "PROG: message" on o->warn, when it is set. */
static void warn(const run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(const run *r, const char *fmt, ...)
{
    va_list ap;
    char *s;
    int n;
    if (!r->o->warn) return;
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    s = mz_malloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    fprintf(r->o->warn, "%s: %s\n", r->o->prog, s); /* one write, as the message was */
    free(s);
}

/* Release everything r holds, aborting an output not yet closed. failed:
 * keep the error recorded (closing may record another); returns -1. Else
 * returns 0, or -1 when closing the input fails. */
static int run_free(run *r, int failed)
{
    char msg[1024];
    int ret;
    if (failed) snprintf(msg, sizeof msg, "%s", mz_errmsg());
    mz_writer_abort(r->w);
    mz_place_eval_free(&r->ev);
    mz_route_free(&r->route);
    free(r->ptok.ids);
    mz_wafer_free(&r->wf);
    mz_spool_close(r->spool);
    ret = r->tr.r ? mz_trace_close(&r->tr) : 0;
    mz_header_free(&r->h);
    mz_priors_free(&r->pr);
    mz_placement_free(&r->pl);
    free(r->info);
    free(r->rec);
    mz_buf_free(&r->lrec);
    if (!failed) return ret;
    mz_error("%s", msg);
    return -1;
}

/* -R: the placement of a file (its copies said on stderr), else an empty one. */
static int open_placement(run *r)
{
    const mz_place_run_opts *o = r->o;
    int chiplets = o->chiplets, groups = o->groups;
    if (o->read_placement && r->map_format < 0 && (r->map_format = mz_placemap_sniff(o->read_placement)) < 0)
        return -1;
    if (o->read_placement && r->map_format != MZ_PLACEMAP_TSV) {
        mz_placement *pl = &r->pl;
        if (mz_placemap_read(o->read_placement, r->map_format, r->ti, chiplets, o->chiplets_given, groups, pl) < 0)
            return -1;
        if (pl->n_replicas) {
            int experts = 0, layers = 0;
            uint8_t *seen = mz_calloc((size_t)pl->n_layers * pl->experts, 1);
            for (int i = 0; i < pl->n_replicas; i++) {
                int sl = mz_placement_slot(pl, pl->replica[3 * i]);
                experts += !seen[(size_t)sl * pl->experts + pl->replica[3 * i + 1]];
                seen[(size_t)sl * pl->experts + pl->replica[3 * i + 1]] = 1;
            }
            for (int l = 0; l < pl->n_layers; l++)
                for (int e = 0; e < pl->experts; e++)
                    if (seen[(size_t)l * pl->experts + e]) {
                        layers++;
                        break;
                    }
            free(seen);
            warn(r, "%s: %d replicas (extra copies of %d experts in %d layers), kept in @PR lines and costed: an "
                    "expert's tokens go to its copies in turn, its primary copy the one on its lowest chiplet",
                 o->read_placement, pl->n_replicas, experts, layers);
        }
    } else if (o->read_placement) {
        int fc, fg, got = o->chiplets_given || o->groups_given ? 0 : mz_place_tsv_topology(o->read_placement, &fc, &fg);
        if (got < 0) return -1;
        if (got) chiplets = fc, groups = fg;
        if (mz_placement_read_tsv(o->read_placement, r->ti, chiplets, groups, &r->pl) < 0) return -1;
    } else if (mz_placement_init(&r->pl, r->ti, chiplets, groups) < 0) {
        mz_error_prefix("%s", r->in_path);
        return -1;
    }
    return 0;
}

/* The first pass: the priors (and -a latency's profiled tokens), then the
 * placement from them. An uncompressed binary file is read again for the
 * output; anything else (a pipe, gzip, text) is spooled to a temporary file
 * as it is read. */
static int profile_pass(run *r)
{
    const mz_place_run_opts *o = r->o;
    mz_trace_reader *tr = &r->tr;
    mz_placement *pl = &r->pl;
    long nrep = o->replicas;
    int ret;
    if (spool_input(tr)) {
        if (!(r->spool = mz_spool_open(r->rec_size))) return -1;
        r->from_spool = 1;
    } else if (mz_reader_remember(tr->r) < 0) {
        return -1;
    }
    if (mz_priors_init(&r->pr, r->ti, r->algo == MZ_PLACE_CTSWAP ? (size_t)o->sample : 0, o->seed) < 0) {
        mz_error_prefix("%s", r->in_path);
        return -1;
    }
    while ((ret = mz_trace_next(tr)) > 0) {
        if (profiled(&r->prof, tr->tok.step)) {
            mz_priors_add(&r->pr, &tr->tok);
            if (r->latency) {
                if (r->lrec.n + r->rec_size > MZ_MAX_TABLE_BYTES) {
                    mz_error("%s: -a latency keeps the profiled tokens in memory, and they exceed %llu MB: "
                             "profile on fewer steps (--profile)",
                             r->in_path, MZ_MAX_TABLE_BYTES >> 20);
                    return -1;
                }
                mz_token_encode(r->ti, &tr->tok, r->rec);
                mz_buf_put(&r->lrec, r->rec, r->rec_size);
                r->n_lrec++;
            }
        }
        if (r->spool) {
            mz_token_encode(r->ti, &tr->tok, r->rec);
            if (mz_spool_put(r->spool, r->rec) < 0) return -1;
        }
        r->n_first++;
    }
    if (ret < 0) return -1;
    if (mz_priors_finish(&r->pr) < 0) {
        mz_error_prefix("%s", r->in_path);
        return -1;
    }
    if (nrep) mz_replica_cap_init(&r->cap, r->ti, &r->wf, pl->chiplets);
    if (r->latency) {
        mz_placelat_input li = {&r->wf, r->ti, mz_reader_header(tr->r), (const uint8_t *)r->lrec.s, r->n_lrec,
                                r->rec_size};
        if (mz_placelat_compute(pl, &r->pr, &r->popts, &li, r->info, &r->lres) < 0) {
            mz_error_prefix("%s", r->in_path);
            return -1;
        }
        mz_buf_free(&r->lrec);
    } else if (r->algo == MZ_PLACE_EPLB) {
        if (!nrep) mz_replica_cap_init(&r->cap, r->ti, NULL, pl->chiplets);
        if (mz_place_eplb(pl, &r->pr, (int)nrep, &r->cap, &r->rst) < 0) return -1;
    } else {
        if (mz_place_compute(pl, &r->pr, &r->popts, r->info) < 0) return -1;
        if (nrep && mz_place_replicas(pl, &r->pr, (int)nrep, &r->cap, &r->rst) < 0) return -1;
    }
    if (nrep && r->rst.placed < nrep * pl->n_layers)
        warn(r, "--replicas %ld: %ld of the %ld copies asked for placed (%ld of %d layers short): %ld did not fit (a "
                "chiplet's SRAM: %ld, a group's DRAM: %ld) and are not placed%s",
             nrep, r->rst.placed, nrep * pl->n_layers, r->rst.short_layers, pl->n_layers, r->rst.refused,
             r->rst.refused_sram, r->rst.refused_dram,
             r->rst.refused < nrep * pl->n_layers - r->rst.placed ? "; the rest found no expert with load to split" : "");
    if (r->rst.over_dram)
        warn(r, "--replicas: %ld copies placed in group DRAM already over capacity (the wafer has no spill tier: "
                "capacity reported by mz-cost, not enforced)",
             r->rst.over_dram);
    if (r->spool) {
        if (mz_spool_rewind(r->spool) < 0) return -1;
    } else if (mz_trace_rewind(tr) < 0) {
        return -1;
    }
    r->steps_seen = r->prof.seen;
    r->prof.started = 0, r->prof.seen = 0;
    return 0;
}

/* The output's header: the input's, with this placement instead of any other. */
static void build_header(run *r)
{
    const mz_place_run_opts *o = r->o;
    const mz_placement *pl = &r->pl;
    mz_header *h = &r->h;
    mz_header_copy(h, mz_reader_header(r->tr.r));
    mz_placement_to_header(pl, h);
    mz_header_remove(h, "@PA");
    mz_placement_replicas_to_header(pl, h);
    if (o->read_placement && r->map_format != MZ_PLACEMAP_TSV) {
        mz_header_add(h, "@PA\talgorithm:file\tformat:%s\treplicas:%d%s", mz_placemap_format_name(r->map_format),
                      pl->n_replicas, pl->n_replicas ? "\tsplit:round-robin" : "");
    } else if (o->read_placement && pl->n_replicas) {
        mz_header_add(h, "@PA\talgorithm:file\treplicas:%d\tsplit:round-robin", pl->n_replicas);
    } else if (o->read_placement) {
        mz_header_add(h, "@PA\talgorithm:file");
    } else if (r->needs_priors) {
        const mz_placelat_result *lres = &r->lres;
        mz_buf b = {0};
        long n = r->prof.n;
        mz_buf_printf(&b, "@PA\talgorithm:%s\tprofile_steps:%ld\tprofile_tokens:%llu\tgroup_alloc:%s", pl->algorithm,
                      n && n < r->steps_seen ? n : (long)r->steps_seen, (unsigned long long)r->pr.tokens,
                      mz_place_alloc_name(r->group_alloc));
        if (r->group_alloc == 2) mz_buf_printf(&b, "\tgroup_alloc_gap:%.6f", r->alloc_gap);
        if (o->replicas || r->algo == MZ_PLACE_EPLB)
            mz_buf_printf(&b, "\treplicas:%d\treplicas_asked:%ld\tsplit:round-robin", pl->n_replicas,
                          (long)o->replicas * pl->n_layers);
        if (r->algo == MZ_PLACE_CTSWAP) mz_buf_printf(&b, "\tsample:%zu\tseed:%ld", r->pr.kept, (long)o->seed);
        if (r->latency) {
            mz_buf_printf(&b, "\tchosen:%s\tlatency_s:%.6f", lres->name[lres->chosen], lres->latency[lres->chosen]);
            for (int k = 0; k < lres->n; k++) mz_buf_printf(&b, "\t%s_s:%.6f", lres->name[k], lres->latency[k]);
        }
        mz_header_add(h, "%s", b.s);
        mz_buf_free(&b);
    } else if (r->algo == MZ_PLACE_RANDOM) {
        mz_header_add(h, "@PA\talgorithm:%s\tseed:%ld", pl->algorithm, (long)o->seed);
    } else {
        mz_header_add(h, "@PA\talgorithm:%s", pl->algorithm);
    }
    mz_header_add_pg(h, o->prog, o->argc, o->argv);
}

/* The second (or only) pass: the trace on to out_path, and C_T and balance
 * per layer into r->ev. */
static int pass_on(run *r, const char *out_path)
{
    const mz_place_run_opts *o = r->o;
    const mz_trace_info *ti = r->ti;
    mz_trace_reader *tr = &r->tr;
    int ret;
    if (!(r->w = mz_writer_open(out_path, MZ_KIND_TRACE, &r->h, o->text, o->level))) return -1;
    if (!o->text && mz_opt_refuse_tty(r->w) < 0) {
        r->w = NULL; /* aborted */
        return -1;
    }
    mz_route_init(&r->route, &r->pl);
    physical_view(&r->pl, &r->route, &r->view);
    if (r->pl.n_replicas) r->ptok.ids = mz_malloc((size_t)ti->n_layers * ti->model.topk * sizeof *r->ptok.ids);
    mz_place_eval_init(&r->ev, &r->view, ti->model.topk);
    for (;;) {
        if (r->from_spool) {
            if ((ret = mz_spool_get(r->spool, r->rec)) > 0 && mz_token_decode(ti, r->rec, r->rec_size, &tr->tok) < 0)
                ret = -1;
        } else if ((ret = mz_trace_next(tr)) > 0) {
            mz_token_encode(ti, &tr->tok, r->rec);
        }
        if (ret <= 0) break;
        if (r->pl.n_replicas) {
            for (int l = 0, k = ti->model.topk; l < ti->n_layers; l++)
                for (int a = 0; a < k; a++)
                    r->ptok.ids[(size_t)l * k + a] = (uint16_t)mz_route_copy(&r->route, l, tr->tok.ids[(size_t)l * k + a]);
            mz_place_eval_add(&r->ev, &r->view, &r->ptok, !profiled(&r->prof, tr->tok.step));
        } else {
            mz_place_eval_add(&r->ev, &r->view, &tr->tok, !profiled(&r->prof, tr->tok.step));
        }
        if (mz_writer_put(r->w, r->rec, r->rec_size) < 0) break;
        r->n_second++;
    }
    if (ret != 0) return -1; /* > 0: the write failed */
    if (r->n_first && r->n_second != r->n_first) {
        mz_error("%s: changed while being read (%llu records, then %llu)", r->in_path, (unsigned long long)r->n_first,
                 (unsigned long long)r->n_second);
        return -1;
    }
    ret = mz_writer_close(r->w);
    r->w = NULL;
    return ret;
}

/* -r, --latency-report, -W: each written whole or not at all. */
static int write_files(run *r)
{
    const mz_place_run_opts *o = r->o;
    mz_out *out;
    if (o->report) {
        int ps = r->prof.n && r->prof.n < r->prof.seen ? (int)r->prof.n : r->prof.seen;
        if (!(out = mz_out_open(o->report, 0))) return -1;
        if (mz_place_report_write(&r->ev, &r->view, o->read_placement ? NULL : r->info, ps, r->prof.seen - ps, out) < 0)
            goto fail;
        if (mz_out_close(out) < 0) return -1;
    }
    if (o->latency_report) {
        if (!(out = mz_out_open(o->latency_report, 0))) return -1;
        if (mz_placelat_report_write(&r->lres, out) < 0) goto fail;
        if (mz_out_close(out) < 0) return -1;
    }
    if (o->write_placement) {
        if (!(out = mz_out_open(o->write_placement, 0))) return -1;
        if (mz_placemap_write(&r->pl, &r->ti->model, r->map_format < 0 ? MZ_PLACEMAP_TSV : r->map_format, out) < 0)
            goto fail;
        if (mz_out_close(out) < 0) return -1;
    }
    return 0;
fail:
    mz_out_abort(out);
    return -1;
}

int mz_place_run(const mz_place_run_opts *o, const char *in_path, const char *out_path)
{
    run r;
    memset(&r, 0, sizeof r);
    if (mz_place_run_check(o) < 0) return -1;
    r.o = o, r.in_path = in_path;
    r.latency = strcmp(o->algorithm, LATENCY_ALGO) == 0;
    r.algo = algorithm_of(o->algorithm);
    r.map_format = o->format;
    r.prof.n = o->profile;
    if (o->n_wafers && mz_wafer_open(&r.wf, o->wafers, o->n_wafers, o->sets, o->n_sets) < 0) return run_free(&r, 1);
    if (mz_trace_open(&r.tr, in_path) < 0) return run_free(&r, 1);
    r.ti = &r.tr.info;
    if (o->replicas && (long)r.ti->model.experts + o->replicas > 65535) {
        mz_error("--replicas %d: %d experts and their copies must number at most 65535", o->replicas,
                 r.ti->model.experts);
        return run_free(&r, 1);
    }
    r.needs_priors = mz_place_needs_priors(r.algo) || o->replicas > 0;
    r.rec_size = mz_trace_record_size(r.ti);
    r.rec = mz_malloc(r.rec_size);
    r.popts.algorithm = r.algo;
    r.popts.seed = o->seed;
    r.popts.alloc_nodes = o->alloc_nodes;
    r.popts.kicks = o->kicks;
    r.popts.max_load = o->read_placement ? 0 : o->max_load;
    if (open_placement(&r) < 0) return run_free(&r, 1);
    r.info = mz_calloc(r.pl.n_layers, sizeof *r.info);
    if (!o->read_placement && r.needs_priors) {
        if (profile_pass(&r) < 0) return run_free(&r, 1);
    } else if (!o->read_placement) {
        if (mz_place_compute(&r.pl, NULL, &r.popts, r.info) < 0) return run_free(&r, 1);
    }
    for (int l = 0; l < r.pl.n_layers; l++)
        if (r.info[l].group_alloc == 2 || (r.info[l].group_alloc == 1 && r.group_alloc == 0))
            r.group_alloc = r.info[l].group_alloc;
    for (int l = 0; l < r.pl.n_layers; l++)
        if (r.info[l].gap > r.alloc_gap) r.alloc_gap = r.info[l].gap;
    if (r.popts.max_load > 0) {
        mz_buf missed = {0};
        int forced = 0, n = mz_place_cap_missed(&r.pl, r.info, &missed, &forced);
        if (n > 0)
            warn(&r, "--max-load %g: %d of %d layers keep a chiplet above the cap (layers %s), %d of them because no "
                 "placement meets it", r.popts.max_load, n, r.pl.n_layers, missed.s, forced);
        mz_buf_free(&missed);
    }
    build_header(&r);
    if (pass_on(&r, out_path) < 0 || write_files(&r) < 0) return run_free(&r, 1);
    return run_free(&r, 0);
}
