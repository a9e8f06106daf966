/* runstat.c: mz-stat's work: one trace measured into the table and, when asked, its loads and co-activation files. */
#include <stdio.h>

#include "stat.h"

void mz_stat_run_opts_init(mz_stat_run_opts *o)
{
    o->chiplets = 0;
    o->per_chiplet = 0;
    o->loads_path = NULL;
    o->coact_path = NULL;
}

int mz_stat_run(const mz_stat_run_opts *o, const char *in_path, const char *out_path)
{
    int chiplets = o->chiplets, ret, has_placement = 0;
    mz_trace_reader tr;
    mz_placement pl;
    mz_stat *s = NULL;
    mz_out *outs[3] = {NULL, NULL, NULL}; /* table, loads, coact */

    if (mz_trace_open(&tr, in_path) < 0) return -1;
    /* the default, 16 chiplets, cannot hold fewer experts: one expert per chiplet then */
    if (!chiplets && !o->per_chiplet) chiplets = tr.info.model.experts < 16 ? tr.info.model.experts : 16;
    if ((has_placement = mz_placement_from_header(mz_reader_header(tr.r), &tr.info, &pl)) < 0) {
        has_placement = 0;
        mz_error_prefix("%s", in_path);
        goto fail;
    }
    if (!(s = mz_stat_new(&tr.info, chiplets, o->per_chiplet, has_placement ? &pl : NULL))) goto fail;
    if (!(outs[0] = mz_out_open(out_path, 0))) goto fail;
    if (o->loads_path && !(outs[1] = mz_out_open(o->loads_path, 0))) goto fail;
    if (o->coact_path && !(outs[2] = mz_out_open(o->coact_path, 0))) goto fail;

    while ((ret = mz_trace_next(&tr)) > 0)
        if (mz_stat_add(s, &tr.tok) < 0) goto fail;
    if (ret < 0) goto fail;

    {
        char layers[8192];
        mz_out_printf(outs[0], "#mz-stat\tinput:%s\tmodel:%s\texperts:%d\ttopk:%d\tlayers:%s\n", in_path,
                      tr.info.model.name, tr.info.model.experts, tr.info.model.topk,
                      mz_format_ranges(tr.info.layers, tr.info.n_layers, layers, sizeof layers));
        if (o->per_chiplet)
            mz_out_printf(outs[0], "#layout:contiguous\tchiplets:%d\texperts_per_chiplet:%d", mz_stat_chiplets(s),
                          o->per_chiplet);
        else
            mz_out_printf(outs[0], "#layout:contiguous\tchiplets:%d", chiplets);
        mz_out_printf(outs[0], "\tplacement:%s\n", has_placement ? pl.algorithm : "none");
    }
    if (mz_stat_write(s, outs[0]) < 0) goto fail;
    if (outs[1] && mz_stat_write_loads(s, outs[1]) < 0) goto fail;
    if (outs[2] && mz_stat_write_coact(s, outs[2]) < 0) goto fail;
    for (int i = 0; i < 3; i++)
        if (outs[i]) {
            mz_out *out = outs[i];
            outs[i] = NULL;
            if (mz_out_close(out) < 0) goto fail;
        }
    if (has_placement) mz_placement_free(&pl);
    mz_stat_free(s);
    return mz_trace_close(&tr);

fail:
    {
        /* the first error is the one to report: closing the input may record another */
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", mz_errmsg());
        for (int i = 0; i < 3; i++)
            if (outs[i]) mz_out_abort(outs[i]);
        if (has_placement) mz_placement_free(&pl);
        if (s) mz_stat_free(s);
        mz_trace_close(&tr);
        mz_error("%s", msg);
    }
    return -1;
}
