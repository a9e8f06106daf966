/* placement.c: expert-to-chiplet placements: the @PT/@PL header section, TSV files, checks. */
#include <stdlib.h>
#include <string.h>

#include "placement.h"

int mz_placement_init(mz_placement *p, const mz_trace_info *t, int chiplets, int groups)
{
    memset(p, 0, sizeof *p);
    if (chiplets < 1 || groups < 1 || chiplets % groups) {
        mz_error("%d chiplets cannot form %d equal groups", chiplets, groups);
        return -1;
    }
    if (chiplets > t->model.experts) {
        mz_error("%d chiplets for %d experts: some chiplets would be empty", chiplets, t->model.experts);
        return -1;
    }
    p->chiplets = chiplets;
    p->groups = groups;
    p->experts = t->model.experts;
    p->n_layers = t->n_layers;
    p->layers = mz_malloc(t->n_layers * sizeof *p->layers);
    memcpy(p->layers, t->layers, t->n_layers * sizeof *p->layers);
    p->chiplet = mz_malloc((size_t)t->n_layers * p->experts * sizeof *p->chiplet);
    for (size_t i = 0; i < (size_t)t->n_layers * p->experts; i++) p->chiplet[i] = -1;
    snprintf(p->algorithm, sizeof p->algorithm, "none");
    return 0;
}

void mz_placement_contiguous(mz_placement *p)
{
    for (int l = 0; l < p->n_layers; l++)
        for (int e = 0; e < p->experts; e++)
            p->chiplet[(size_t)l * p->experts + e] = (int)((long)e * p->chiplets / p->experts);
    snprintf(p->algorithm, sizeof p->algorithm, "contiguous");
}

void mz_placement_free(mz_placement *p)
{
    free(p->layers);
    free(p->chiplet);
    free(p->replica);
    memset(p, 0, sizeof *p);
}

int mz_placement_slot(const mz_placement *p, int layer)
{
    for (int i = 0; i < p->n_layers; i++)
        if (p->layers[i] == layer) return i;
    return -1;
}

int mz_placement_check(const mz_placement *p)
{
    for (int l = 0; l < p->n_layers; l++) {
        int *used = mz_calloc(p->chiplets, sizeof *used);
        for (int e = 0; e < p->experts; e++) {
            int c = p->chiplet[(size_t)l * p->experts + e];
            if (c < 0) {
                mz_error("layer %d: expert %d is not placed", p->layers[l], e);
                free(used);
                return -1;
            }
            if (c >= p->chiplets) {
                mz_error("layer %d: expert %d on chiplet %d, but there are %d chiplets", p->layers[l], e,
                         c, p->chiplets);
                free(used);
                return -1;
            }
            used[c]++;
        }
        /* a chiplet that holds only copies (replicas) is not empty */
        for (int i = 0; i < p->n_replicas; i++)
            if (p->replica[3 * i] == p->layers[l] && p->replica[3 * i + 2] >= 0 && p->replica[3 * i + 2] < p->chiplets)
                used[p->replica[3 * i + 2]]++;
        for (int c = 0; c < p->chiplets; c++)
            if (!used[c]) {
                mz_error("layer %d: chiplet %d hosts no expert", p->layers[l], c);
                free(used);
                return -1;
            }
        free(used);
    }
    return 0;
}

void mz_placement_to_header(const mz_placement *p, mz_header *h)
{
    mz_buf b = {0};
    mz_header_remove(h, "@PT");
    mz_header_remove(h, "@PL");
    mz_header_add(h, "@PT\tchiplets:%d\tgroups:%d\talgorithm:%s", p->chiplets, p->groups, p->algorithm);
    for (int l = 0; l < p->n_layers; l++) {
        b.n = 0;
        mz_buf_printf(&b, "@PL\tlayer:%d\tchiplet:", p->layers[l]);
        for (int e = 0; e < p->experts; e++)
            mz_buf_printf(&b, "%s%d", e ? "," : "", p->chiplet[(size_t)l * p->experts + e]);
        mz_header_add(h, "%s", b.s);
    }
    mz_buf_free(&b);
}

int mz_placement_from_header(const mz_header *h, const mz_trace_info *t, mz_placement *p)
{
    int i = mz_header_find(h, "@PT", 0);
    long chiplets, groups, layer, v;
    mz_buf val = {0};
    char **f = NULL;
    memset(p, 0, sizeof *p);
    if (i < 0) return 0;
    if (mz_header_long(h, i, "chiplets", 1, 65536, &chiplets) < 0 ||
        mz_header_long(h, i, "groups", 1, 65536, &groups) < 0)
        return -1;
    if ((size_t)t->n_layers * t->model.experts > (64u << 20) / 2) {
        /* each @PL entry takes 2 bytes or more of a header of at most 64 MiB */
        mz_error("header @PT: %d layers of %d experts cannot be placed within a header", t->n_layers,
                 t->model.experts);
        return -1;
    }
    if (mz_placement_init(p, t, (int)chiplets, (int)groups) < 0) {
        mz_error_prefix("header @PT");
        return -1;
    }
    mz_header_value(h, i, "algorithm", p->algorithm, sizeof p->algorithm);
    f = mz_malloc((p->experts + 1) * sizeof *f);
    mz_buf_reserve(&val, (size_t)p->experts * 8 + 64);
    for (int n = 0; (i = mz_header_find(h, "@PL", n)) >= 0; n++) {
        int slot;
        if (mz_header_long(h, i, "layer", 0, t->model.layers - 1, &layer) < 0) goto fail;
        if ((slot = mz_placement_slot(p, (int)layer)) < 0) {
            mz_error("header @PL: layer %ld is not a traced layer", layer);
            goto fail;
        }
        if (p->chiplet[(size_t)slot * p->experts] >= 0) {
            mz_error("header @PL: layer %ld placed twice", layer);
            goto fail;
        }
        if (!mz_header_value(h, i, "chiplet", val.s, val.m) ||
            mz_split(val.s, ',', f, p->experts) != p->experts) {
            mz_error("header @PL layer %ld: expected %d chiplet numbers", layer, p->experts);
            goto fail;
        }
        for (int e = 0; e < p->experts; e++) {
            if (mz_parse_long(f[e], 0, p->chiplets - 1, "header @PL chiplet", &v) < 0) goto fail;
            p->chiplet[(size_t)slot * p->experts + e] = (int)v;
        }
    }
    if (mz_replicas_from_header(h, p) < 0) goto fail;
    mz_placement_canon_replicas(p);
    if (mz_placement_check(p) < 0) {
        mz_error_prefix("header placement");
        goto fail;
    }
    free(f);
    mz_buf_free(&val);
    return 1;
fail:
    free(f);
    mz_buf_free(&val);
    mz_placement_free(p);
    return -1;
}

int mz_placement_write_tsv(const mz_placement *p, mz_out *out)
{
    mz_out_printf(out, "#placement\tchiplets:%d\tgroups:%d\talgorithm:%s", p->chiplets, p->groups, p->algorithm);
    if (p->n_replicas) mz_out_printf(out, "\treplicas:%d", p->n_replicas);
    mz_out_puts(out, "\n");
    mz_out_puts(out, "layer\texpert\tchiplet\tgroup\n");
    for (int l = 0; l < p->n_layers; l++)
        for (int e = 0; e < p->experts; e++) {
            int c = p->chiplet[(size_t)l * p->experts + e];
            if (mz_out_printf(out, "%d\t%d\t%d\t%d\n", p->layers[l], e, c, mz_group_of(p, c)) < 0) return -1;
        }
    /* replicas: further rows of an expert, announced by the #placement line */
    for (int i = 0; i < p->n_replicas; i++)
        if (mz_out_printf(out, "%d\t%d\t%d\t%d\n", p->replica[3 * i], p->replica[3 * i + 1], p->replica[3 * i + 2],
                          mz_group_of(p, p->replica[3 * i + 2])) < 0)
            return -1;
    return 0;
}

int mz_placement_read_tsv(const char *path, const mz_trace_info *t, int chiplets, int groups,
                          mz_placement *p)
{
    mz_in *in = mz_in_open(path);
    char *line, *f[5];
    long len, v[4];
    int header_seen = 0, replicas = 0;
    memset(p, 0, sizeof *p);
    if (!in) return -1;
    while ((len = mz_in_getline(in, &line)) >= 0) {
        long ln = mz_in_lineno(in);
        const char *names[4] = {"layer", "expert", "chiplet", "group"};
        long hi[4] = {t->model.layers - 1, t->model.experts - 1, 65535, 65535};
        int slot;
        if (strncmp(line, "#placement\t", 11) == 0 && strstr(line, "\treplicas:")) replicas = 1;
        if (line[0] == '#' || len == 0) continue;
        if (!header_seen) {
            if (strcmp(line, "layer\texpert\tchiplet\tgroup") != 0) {
                mz_error("%s: line %ld: expected the header 'layer expert chiplet group'", path, ln);
                goto fail;
            }
            /* the topology is checked once the file has shown it is one
             * (an empty file is reported as such, not as a topology) */
            if (mz_placement_init(p, t, chiplets, groups) < 0) {
                mz_error_prefix("%s", path);
                goto fail;
            }
            snprintf(p->algorithm, sizeof p->algorithm, "file");
            header_seen = 1;
            continue;
        }
        if (mz_split(line, '\t', f, 5) != 4) {
            mz_error("%s: line %ld: expected 4 tab-separated fields", path, ln);
            goto fail;
        }
        for (int k = 0; k < 4; k++) {
            char what[128];
            snprintf(what, sizeof what, "%s: line %ld: %s", path, ln, names[k]);
            if (mz_parse_long(f[k], 0, hi[k], what, &v[k]) < 0) goto fail;
        }
        if ((slot = mz_placement_slot(p, (int)v[0])) < 0) {
            mz_error("%s: line %ld: layer %ld is not an MoE layer of the trace", path, ln, v[0]);
            goto fail;
        }
        if (v[2] >= chiplets) {
            mz_error("%s: line %ld: chiplet %ld out of range (the wafer has %d expert chiplets)", path, ln,
                     v[2], chiplets);
            goto fail;
        }
        if (v[3] != mz_group_of(p, (int)v[2])) {
            mz_error("%s: line %ld: chiplet %ld belongs to group %d, not %ld", path, ln, v[2],
                     mz_group_of(p, (int)v[2]), v[3]);
            goto fail;
        }
        if (p->chiplet[(size_t)slot * p->experts + v[1]] >= 0) {
            if (replicas) {
                /* a further row of an expert: a replica (the #placement line says replicas:N) */
                mz_placement_add_replica(p, slot, (int)v[1], (int)v[2]);
                continue;
            }
            mz_error("%s: line %ld: layer %ld expert %ld placed twice", path, ln, v[0], v[1]);
            goto fail;
        }
        p->chiplet[(size_t)slot * p->experts + v[1]] = (int)v[2];
    }
    if (mz_in_failed(in)) goto fail;
    if (!header_seen) {
        mz_error("%s: empty placement file", path);
        goto fail;
    }
    mz_placement_canon_replicas(p);
    if (mz_placement_check(p) < 0) {
        mz_error_prefix("%s", path);
        goto fail;
    }
    mz_in_close(in);
    return 0;
fail:
    mz_in_close(in);
    mz_placement_free(p);
    return -1;
}
