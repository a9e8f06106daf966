/* wafer.c: wafer descriptions: strict key = value files in [sections], include, layering, -s overrides. */
#include <ctype.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "wafer.h"

enum { F_INT, F_NUM, F_ENUM };
/* Which topology needs a field: every one, the tree only, the mesh only;
 * NEED_POWER: the area and energy model's constants (mz-model(7) section 9),
 * all of them once any is set, none otherwise (the model is then off);
 * NEED_NONE: optional, 0 (the first name) when unset. */
enum { NEED_ALL, NEED_TREE, NEED_MESH, NEED_POWER, NEED_NONE };

static const char *const topo_names[] = {"tree", "mesh", NULL};
static const char *const device_names[] = {"hbm2", "ssd", NULL};

/* One field: its "section.key" name, type, lower bound (positive: > 0;
 * otherwise >= 0), upper bound, which topology needs it, where it lives. */
static const struct field {
    const char *key;
    int type;
    int positive;
    double hi;
    int need;
    size_t off;
    const char *const *names; /* F_ENUM */
} fields[] = {
    {"topology.kind", F_ENUM, 0, 0, NEED_ALL, offsetof(mz_wafer, topology), topo_names},
    {"topology.attention_chiplets", F_INT, 1, 1, NEED_ALL, offsetof(mz_wafer, attention_chiplets), NULL},
    {"topology.switches", F_INT, 1, 4096, NEED_ALL, offsetof(mz_wafer, switches), NULL},
    {"topology.expert_chiplets", F_INT, 1, 65536, NEED_ALL, offsetof(mz_wafer, expert_chiplets), NULL},
    {"compute.tiles", F_INT, 1, 1 << 20, NEED_ALL, offsetof(mz_wafer, tiles), NULL},
    {"compute.arrays_per_tile", F_INT, 1, 1 << 20, NEED_ALL, offsetof(mz_wafer, arrays_per_tile), NULL},
    {"compute.pes_per_array", F_INT, 1, 1 << 24, NEED_ALL, offsetof(mz_wafer, pes_per_array), NULL},
    {"compute.clock_GHz", F_NUM, 1, 1e3, NEED_ALL, offsetof(mz_wafer, clock_GHz), NULL},
    {"compute.flops_per_pe_cycle", F_NUM, 1, 1e6, NEED_ALL, offsetof(mz_wafer, flops_per_pe_cycle), NULL},
    {"compute.precision_bytes", F_INT, 1, 16, NEED_ALL, offsetof(mz_wafer, precision_bytes), NULL},
    {"compute.tile_mm2", F_NUM, 1, 1e6, NEED_ALL, offsetof(mz_wafer, tile_mm2), NULL},
    {"sram.tile_MB", F_NUM, 1, 1e9, NEED_ALL, offsetof(mz_wafer, sram_tile_MB), NULL},
    {"sram.tile_GBps", F_NUM, 1, 1e9, NEED_ALL, offsetof(mz_wafer, sram_tile_GBps), NULL},
    {"sram.efficiency", F_NUM, 1, 1, NEED_ALL, offsetof(mz_wafer, sram_efficiency), NULL},
    {"memory.bandwidth_GBps", F_NUM, 1, 1e9, NEED_ALL, offsetof(mz_wafer, mem_bandwidth_GBps), NULL},
    {"memory.capacity_GB", F_NUM, 1, 1e12, NEED_ALL, offsetof(mz_wafer, mem_capacity_GB), NULL},
    {"memory.root_stacks", F_INT, 1, 1024, NEED_ALL, offsetof(mz_wafer, root_stacks), NULL},
    {"memory.stacks_per_group", F_INT, 1, 1024, NEED_ALL, offsetof(mz_wafer, stacks_per_group), NULL},
    {"memory.phy_mm", F_NUM, 0, 1e6, NEED_ALL, offsetof(mz_wafer, phy_mm), NULL},
    {"memory.efficiency", F_NUM, 1, 1, NEED_ALL, offsetof(mz_wafer, mem_efficiency), NULL},
    {"memory.device", F_ENUM, 0, 0, NEED_NONE, offsetof(mz_wafer, mem_device), device_names},
    {"spill.bandwidth_GBps", F_NUM, 0, 1e9, NEED_ALL, offsetof(mz_wafer, spill_GBps), NULL},
    {"links.wire_GBps", F_NUM, 1, 1e9, NEED_ALL, offsetof(mz_wafer, wire_GBps), NULL},
    {"links.wires_per_mm", F_NUM, 1, 1e6, NEED_ALL, offsetof(mz_wafer, wires_per_mm), NULL},
    {"links.hop_latency_ns", F_NUM, 0, 1e9, NEED_ALL, offsetof(mz_wafer, hop_latency_ns), NULL},
    {"root.dispatch_Bpc", F_NUM, 1, 1e9, NEED_ALL, offsetof(mz_wafer, dispatch_Bpc), NULL},
    {"switch.multicast", F_INT, 0, 1, NEED_TREE, offsetof(mz_wafer, multicast), NULL},
    {"switch.reduce_forward", F_INT, 0, 1, NEED_TREE, offsetof(mz_wafer, reduce_forward), NULL},
    {"switch.reduce_backward", F_INT, 0, 1, NEED_TREE, offsetof(mz_wafer, reduce_backward), NULL},
    {"mesh.root_links", F_INT, 1, 2, NEED_MESH, offsetof(mz_wafer, mesh_root_links), NULL},
    {"tech.pe_um2", F_NUM, 1, 1e9, NEED_POWER, offsetof(mz_wafer, pe_um2), NULL},
    {"tech.adder_um2", F_NUM, 1, 1e9, NEED_POWER, offsetof(mz_wafer, adder_um2), NULL},
    {"tech.sram_mm2_per_MB", F_NUM, 1, 1e6, NEED_POWER, offsetof(mz_wafer, sram_mm2_per_MB), NULL},
    {"tech.bond_pitch_um", F_NUM, 1, 1e4, NEED_POWER, offsetof(mz_wafer, bond_pitch_um), NULL},
    {"tech.phy_um2_per_wire", F_NUM, 1, 1e9, NEED_POWER, offsetof(mz_wafer, phy_um2_per_wire), NULL},
    {"tech.hbm_mm2", F_NUM, 0, 1e6, NEED_POWER, offsetof(mz_wafer, hbm_mm2), NULL},
    {"tech.hbm_phy_mm2", F_NUM, 0, 1e6, NEED_POWER, offsetof(mz_wafer, hbm_phy_mm2), NULL},
    {"tech.ssd_mm2", F_NUM, 0, 1e6, NEED_POWER, offsetof(mz_wafer, ssd_mm2), NULL},
    {"tech.ssd_phy_mm2", F_NUM, 0, 1e6, NEED_POWER, offsetof(mz_wafer, ssd_phy_mm2), NULL},
    {"tech.switch_buffer_MB", F_NUM, 0, 1e9, NEED_POWER, offsetof(mz_wafer, switch_buffer_MB), NULL},
    {"tech.die_gap_mm", F_NUM, 0, 1e3, NEED_POWER, offsetof(mz_wafer, die_gap_mm), NULL},
    {"tech.link_mm", F_NUM, 0, 1e4, NEED_POWER, offsetof(mz_wafer, link_mm), NULL},
    {"energy.mac_pJ", F_NUM, 0, 1e9, NEED_POWER, offsetof(mz_wafer, mac_pJ), NULL},
    {"energy.sram_pJ_per_byte", F_NUM, 0, 1e9, NEED_POWER, offsetof(mz_wafer, sram_pJ_per_byte), NULL},
    {"energy.bond_pJ_per_bit", F_NUM, 0, 1e9, NEED_POWER, offsetof(mz_wafer, bond_pJ_per_bit), NULL},
    {"energy.link_pJ_per_bit_mm", F_NUM, 0, 1e9, NEED_POWER, offsetof(mz_wafer, link_pJ_per_bit_mm), NULL},
    {"energy.hbm_pJ_per_bit", F_NUM, 0, 1e9, NEED_POWER, offsetof(mz_wafer, hbm_pJ_per_bit), NULL},
    {"energy.ssd_pJ_per_bit", F_NUM, 0, 1e9, NEED_POWER, offsetof(mz_wafer, ssd_pJ_per_bit), NULL},
    {"energy.spill_pJ_per_bit", F_NUM, 0, 1e9, NEED_POWER, offsetof(mz_wafer, spill_pJ_per_bit), NULL},
    {"energy.logic_leak_W_per_mm2", F_NUM, 0, 1e3, NEED_POWER, offsetof(mz_wafer, logic_leak_W_per_mm2), NULL},
    {"energy.sram_leak_W_per_mm2", F_NUM, 0, 1e3, NEED_POWER, offsetof(mz_wafer, sram_leak_W_per_mm2), NULL},
};
#define NF ((int)(sizeof fields / sizeof *fields))

/* Where each field's value came from. */
typedef struct {
    double val[NF];
    int set[NF];   /* 0: unset, else 1 + the layer that set it */
    long line[NF]; /* line in that layer (0 for -s) */
    int file_serial[NF]; /* file occurrence that set it (duplicate check) */
    int serial;
    int fit_layer; /* 1 + the layer mz_wafer_put attributes values to */
} wafer_priv;

void mz_wafer_init(mz_wafer *w)
{
    memset(w, 0, sizeof *w);
    w->priv = mz_calloc(1, sizeof(wafer_priv));
}

void mz_wafer_free(mz_wafer *w)
{
    for (int i = 0; i < w->n_layers; i++) free(w->layer[i]);
    free(w->layer);
    free(w->priv);
    memset(w, 0, sizeof *w);
}

static int add_layer(mz_wafer *w, const char *name)
{
    w->layer = mz_realloc(w->layer, (w->n_layers + 1) * sizeof *w->layer);
    w->layer[w->n_layers] = mz_strdup(name);
    return w->n_layers++;
}

static int field_index(const char *key)
{
    for (int i = 0; i < NF; i++)
        if (strcmp(fields[i].key, key) == 0) return i;
    return -1;
}

static int known_section(const char *sec)
{
    size_t n = strlen(sec);
    for (int i = 0; i < NF; i++)
        if (strncmp(fields[i].key, sec, n) == 0 && fields[i].key[n] == '.') return 1;
    return 0;
}

/* Parse and store one value; 'where' prefixes errors ("FILE: line N"). */
static int set_value(mz_wafer *w, int f, const char *value, const char *where, int layer, long line, int serial)
{
    wafer_priv *pv = w->priv;
    const struct field *fd = &fields[f];
    char what[600];
    double v;
    snprintf(what, sizeof what, "%s: %s", where, fd->key);
    if (fd->type == F_ENUM) {
        int k;
        for (k = 0; fd->names[k]; k++)
            if (strcmp(fd->names[k], value) == 0) break;
        if (!fd->names[k]) {
            mz_buf b = {0};
            for (int j = 0; fd->names[j]; j++) mz_buf_printf(&b, "%s%s", j ? ", " : "", fd->names[j]);
            mz_error("%s: '%s' is not one of %s", what, value, b.s);
            mz_buf_free(&b);
            return -1;
        }
        v = k;
    } else if (fd->type == F_INT) {
        long x;
        if (mz_parse_long(value, -0x7fffffffL, 0x7fffffffL, what, &x) < 0) return -1;
        v = (double)x;
    } else {
        if (mz_parse_double(value, -1e300, 1e300, what, &v) < 0) return -1;
    }
    if (fd->type != F_ENUM) {
        if (v < 0) {
            mz_error("%s: %s is negative", what, value);
            return -1;
        }
        if (fd->positive && v == 0) {
            mz_error("%s: must be greater than 0", what);
            return -1;
        }
        if (v > fd->hi) {
            mz_error("%s: %s is too large (at most %g)", what, value, fd->hi);
            return -1;
        }
    }
    if (serial && pv->set[f] && pv->file_serial[f] == serial) {
        mz_error("%s: set twice in one file (first on line %ld)", what, pv->line[f]);
        return -1;
    }
    pv->val[f] = v;
    pv->set[f] = layer + 1;
    pv->line[f] = line;
    pv->file_serial[f] = serial;
    return 0;
}

static char *trim(char *s)
{
    char *e;
    while (isspace((unsigned char)*s)) s++;
    e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1])) *--e = '\0';
    return s;
}

/* Resolve "include NAME" of file 'from' (issue 14: explicit, no fallback to
 * the current directory): an absolute NAME is that path; a NAME with a '/'
 * is relative to the including file's directory, and only that; a bare
 * NAME is the file beside the including file, else the catalogue's NAME. */
static char *resolve_include(const char *from, const char *name)
{
    const char *slash = strrchr(from, '/');
    mz_buf b = {0};
    char *p = NULL;
    if (name[0] == '/') return mz_find_data(name);
    /* the including file's directory ('from' always has one: it is a path) */
    mz_buf_printf(&b, "%.*s%s", slash ? (int)(slash - from + 1) : 0, from, name);
    if (strchr(b.s, '/')) p = mz_find_data(b.s);
    if (!p && strchr(name, '/')) {
        mz_error("%s: no such file (an include with a '/' is relative to the including file)", b.s);
    } else if (!p && !(p = mz_find_data(name))) {
        mz_error_suffix(" (nor beside %s)", from);
    }
    mz_buf_free(&b);
    return p;
}

/* Files one wafer may load, includes of includes counted (a file included
 * twice counts twice): with the depth limit this bounds the work of any
 * include graph, however it fans out. */
#define MAX_LOADS 256

static int load_file(mz_wafer *w, const char *path, int depth, const char **stack)
{
    wafer_priv *pv = w->priv;
    mz_in *in;
    char *line, where[600], section[64] = "";
    long len;
    int layer, serial, content = 0;
    if (depth >= 16) {
        mz_error("%s: includes nested too deeply (more than 16 levels)", path);
        return -1;
    }
    if (w->n_layers >= MAX_LOADS) {
        mz_error("%s: one wafer loads more than %d files (includes of includes counted; this one "
                 "again through %s): include each file once", path, MAX_LOADS, depth ? stack[depth - 1] : "-w");
        return -1;
    }
    for (int i = 0; i < depth; i++)
        if (strcmp(stack[i], path) == 0) {
            mz_error("%s: includes itself (through %s)", path, stack[depth - 1]);
            return -1;
        }
    stack[depth] = path;
    if (!(in = mz_in_open(path))) return -1;
    layer = add_layer(w, path);
    serial = ++pv->serial;
    while ((len = mz_in_getline(in, &line)) >= 0) {
        long ln = mz_in_lineno(in);
        char *hash = strchr(line, '#'), *s, *eq;
        snprintf(where, sizeof where, "%s: line %ld", path, ln);
        if (hash) *hash = '\0';
        s = trim(line);
        if (!*s) continue;
        content = 1;
        if (*s == '[') {
            char *close = strchr(s, ']');
            if (!close || close[1]) {
                mz_error("%s: expected '[section]'", where);
                goto fail;
            }
            *close = '\0';
            s = trim(s + 1);
            if (!known_section(s) || strlen(s) >= sizeof section) {
                mz_error("%s: unknown section '[%s]'", where, s);
                goto fail;
            }
            snprintf(section, sizeof section, "%s", s);
            continue;
        }
        if (strncmp(s, "include", 7) == 0 && isspace((unsigned char)s[7])) {
            char *name = trim(s + 8), *inc;
            int ret;
            if (!*name) {
                mz_error("%s: include without a file name", where);
                goto fail;
            }
            if (!(inc = resolve_include(path, name))) {
                mz_error_prefix("%s: include", where);
                goto fail;
            }
            ret = load_file(w, inc, depth + 1, stack);
            free(inc);
            if (ret < 0) goto fail;
            continue;
        }
        if (!(eq = strchr(s, '='))) {
            mz_error("%s: expected 'key = value', '[section]' or 'include FILE'", where);
            goto fail;
        }
        *eq = '\0';
        {
            char *key = trim(s), *value = trim(eq + 1), full[160];
            int f;
            if (!section[0]) {
                mz_error("%s: '%s' outside any [section]", where, key);
                goto fail;
            }
            snprintf(full, sizeof full, "%s.%s", section, key);
            if ((f = field_index(full)) < 0) {
                mz_error("%s: unknown field '%s'", where, full);
                goto fail;
            }
            if (!*value) {
                mz_error("%s: %s: empty value", where, full);
                goto fail;
            }
            if (set_value(w, f, value, where, layer, ln, serial) < 0) goto fail;
        }
    }
    if (mz_in_failed(in)) goto fail;
    if (!content) {
        mz_error("%s: empty wafer description (no [section], field or include)", path);
        goto fail;
    }
    return mz_in_close(in);
fail:
    mz_in_close(in);
    return -1;
}

int mz_wafer_load(mz_wafer *w, const char *name)
{
    const char *stack[16];
    char *path;
    int ret;
    if (strchr(name, '/') || (strlen(name) > 6 && strcmp(name + strlen(name) - 6, ".wafer") == 0)) {
        path = mz_find_data(name);
    } else {
        mz_buf b = {0};
        mz_buf_printf(&b, "%s.wafer", name);
        path = mz_find_data(b.s);
        mz_buf_free(&b);
        if (!path) {
            FILE *fp = fopen(name, "r");
            if (fp) fclose(fp);
            if (fp)
                mz_error("%s: unknown wafer (not models/%s.wafer; a name without '/' is a catalogue name: for the "
                         "file in the current directory write ./%s)", name, name, name);
            else
                mz_error("%s: unknown wafer (not models/%s.wafer, and not a path)", name, name);
        }
    }
    if (!path) return -1;
    ret = load_file(w, path, 0, stack);
    free(path);
    return ret;
}

int mz_wafer_set(mz_wafer *w, const char *assign)
{
    char *copy = mz_strdup(assign), *eq = strchr(copy, '=');
    int f, layer, ret;
    if (!eq) {
        mz_error("-S %s: expected KEY=VALUE (e.g. memory.bandwidth_GBps=512)", assign);
        free(copy);
        return -1;
    }
    *eq = '\0';
    if ((f = field_index(copy)) < 0) {
        mz_error("-S %s: unknown field '%s'", assign, copy);
        free(copy);
        return -1;
    }
    {
        char name[600];
        snprintf(name, sizeof name, "-S %s", assign);
        layer = add_layer(w, name);
    }
    ret = set_value(w, f, eq + 1, "-S", layer, 0, 0);
    free(copy);
    return ret;
}

int mz_wafer_put(mz_wafer *w, const char *key, double v)
{
    wafer_priv *pv = w->priv;
    int f = field_index(key);
    char num[64];
    if (f < 0) {
        mz_error("unknown wafer field '%s'", key);
        return -1;
    }
    if (fields[f].type != F_NUM) {
        mz_error("wafer field '%s' is not a real number", key);
        return -1;
    }
    if (!pv->fit_layer) pv->fit_layer = add_layer(w, "(fit)") + 1;
    snprintf(num, sizeof num, "%.17g", v);
    return set_value(w, f, num, "(fit)", pv->fit_layer - 1, 0, 0);
}

int mz_wafer_get(const mz_wafer *w, const char *key, double *v)
{
    const wafer_priv *pv = w->priv;
    int f = field_index(key);
    if (f < 0) {
        mz_error("unknown wafer field '%s'", key);
        return -1;
    }
    if (!pv->set[f]) {
        mz_error("wafer field '%s' is not set", key);
        return -1;
    }
    *v = pv->val[f];
    return 0;
}

/* "where field f was set", for errors about derived quantities. */
static void origin(const mz_wafer *w, int f, char *buf, size_t size)
{
    const wafer_priv *pv = w->priv;
    const char *name = w->layer[pv->set[f] - 1];
    if (pv->line[f])
        snprintf(buf, size, "%s: line %ld: %s", name, pv->line[f], fields[f].key);
    else
        snprintf(buf, size, "%s", name);
}

/* The largest divisor of n that is at most sqrt(n). */
static int low_divisor(int n)
{
    int best = 1;
    for (int d = 1; (long)d * d <= n; d++)
        if (n % d == 0) best = d;
    return best;
}

/* A required field that no layer set: the error names it and the layers read. */
static int missing(const mz_wafer *w, const char *key)
{
    mz_buf b = {0};
    for (int i = 0; i < w->n_layers; i++) mz_buf_printf(&b, "%s%s", i ? ", " : "", w->layer[i]);
    if (strncmp(key, "tech.", 5) == 0 || strncmp(key, "energy.", 7) == 0)
        mz_error("wafer (%s): missing field '%s' (the area and energy model needs every [tech] and [energy] field "
                 "once any is set: see models/tech-28nm.wafer)", b.n ? b.s : "no files", key);
    else
        mz_error("wafer (%s): missing field '%s'", b.n ? b.s : "no files", key);
    mz_buf_free(&b);
    return -1;
}

int mz_wafer_finish(mz_wafer *w)
{
    wafer_priv *pv = w->priv;
    int topo;
    if (!pv->set[field_index("topology.kind")]) return missing(w, "topology.kind");
    topo = (int)pv->val[field_index("topology.kind")];
    /* the area and energy model is on when any of its fields is set: then
     * every one must be (a constant left out would count as free) */
    w->power = 0;
    for (int f = 0; f < NF; f++)
        if (fields[f].need == NEED_POWER && pv->set[f]) w->power = 1;
    for (int f = 0; f < NF; f++) {
        const struct field *fd = &fields[f];
        if (!pv->set[f]) {
            if (fd->need == NEED_ALL || (fd->need == NEED_TREE && topo == MZ_TOPO_TREE) ||
                (fd->need == NEED_MESH && topo == MZ_TOPO_MESH) || (fd->need == NEED_POWER && w->power))
                return missing(w, fd->key);
            if (fd->need == NEED_POWER) *(double *)((char *)w + fd->off) = 0;
            if (fd->need == NEED_NONE) *(int *)((char *)w + fd->off) = 0;
            continue;
        }
        if (fd->type == F_NUM)
            *(double *)((char *)w + fd->off) = pv->val[f];
        else
            *(int *)((char *)w + fd->off) = (int)pv->val[f];
    }
    if (w->expert_chiplets % w->switches) {
        char where[700];
        origin(w, field_index("topology.switches"), where, sizeof where);
        mz_error("%s: %d expert chiplets cannot form %d equal groups (topology.expert_chiplets)", where,
                 w->expert_chiplets, w->switches);
        return -1;
    }
    {
        int a = (int)lround(sqrt((double)w->pes_per_array));
        if ((long)a * a != w->pes_per_array) {
            char where[700];
            origin(w, field_index("compute.pes_per_array"), where, sizeof where);
            mz_error("%s: %d PEs is not a square array (a x a PEs, e.g. 576 = 24 x 24)", where, w->pes_per_array);
            return -1;
        }
        w->array_dim = a;
    }
    w->per_group = w->expert_chiplets / w->switches;
    w->peak_flops = (double)w->tiles * w->arrays_per_tile * w->pes_per_array * w->flops_per_pe_cycle *
                    w->clock_GHz * 1e9;
    w->sram_bytes = w->tiles * w->sram_tile_MB * 1e6;
    w->sram_Bps = w->tiles * w->sram_tile_GBps * 1e9 * w->sram_efficiency;
    /* mz-model(7) section 2: a chiplet is a square of tiles; its NoP shoreline is
     * its perimeter less the memory interfaces it carries */
    w->edge_mm = sqrt(w->tiles * w->tile_mm2);
    /* mesh: groups are blocks of block_cols x block_rows chiplets (near
     * square, wider than tall), the blocks laid out the same way */
    w->block_rows = low_divisor(w->per_group);
    w->block_cols = w->per_group / w->block_rows;
    {
        int gy = low_divisor(w->switches), gx = w->switches / gy;
        w->mesh_cols = gx * w->block_cols;
        w->mesh_rows = gy * w->block_rows;
    }
    /* every link needs a wire (mz-model(7) 2.3): the root's shoreline is
     * its perimeter less its stacks' interfaces, split over its links */
    {
        int nl = topo == MZ_TOPO_TREE ? w->switches : w->mesh_cols < 2 ? 1 : w->mesh_root_links;
        double shore = 4 * w->edge_mm - w->root_stacks * w->phy_mm, per = shore / nl;
        char where[700];
        if (per > w->edge_mm && topo == MZ_TOPO_MESH) per = w->edge_mm;
        w->root_link_mm = per > 0 ? per : 0;
        if (!(per * w->wires_per_mm >= 1)) {
            origin(w, field_index("memory.phy_mm"), where, sizeof where);
            mz_error("%s: the attention chiplet's %.4g mm perimeter less %d stack interfaces of %.4g mm leaves "
                     "%.4g mm for each of its %d links, %.3g wires at links.wires_per_mm = %g (a link needs at "
                     "least one; see memory.root_stacks, compute.tiles, compute.tile_mm2)",
                     where, 4 * w->edge_mm, w->root_stacks, w->phy_mm, per, nl, per * w->wires_per_mm,
                     w->wires_per_mm);
            return -1;
        }
        if (!(w->edge_mm * w->wires_per_mm >= 1)) {
            origin(w, field_index("links.wires_per_mm"), where, sizeof where);
            mz_error("%s: a chiplet's %.4g mm edge holds %.3g wires (a link needs at least one)", where, w->edge_mm,
                     w->edge_mm * w->wires_per_mm);
            return -1;
        }
    }
    return 0;
}

int mz_wafer_open(mz_wafer *w, char *const *files, int n_files, char *const *sets, int n_sets)
{
    mz_wafer_init(w);
    for (int i = 0; i < n_files; i++)
        if (mz_wafer_load(w, files[i]) < 0) goto fail;
    for (int i = 0; i < n_sets; i++)
        if (mz_wafer_set(w, sets[i]) < 0) goto fail;
    if (mz_wafer_finish(w) < 0) goto fail;
    return 0;
fail:
    mz_wafer_free(w);
    return -1;
}

void mz_wafer_mesh_xy(const mz_wafer *w, int c, int *x, int *y)
{
    int g = c / w->per_group, i = c % w->per_group;
    int gx = w->mesh_cols / w->block_cols;
    *x = (g % gx) * w->block_cols + i % w->block_cols;
    *y = (g / gx) * w->block_rows + i / w->block_cols;
}
