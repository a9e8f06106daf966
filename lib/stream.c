/* stream.c: the mz container: header, length-prefixed records and end marker, binary or text. */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "io.h"

extern const mz_codec mz_trace_codec;
extern const mz_codec mz_sched_codec;

/* Every record kind the container knows; a new stage adds its codec here. */
static const mz_codec *const codecs[] = {&mz_trace_codec, &mz_sched_codec, NULL};

const mz_codec *mz_codec_for(char kind)
{
    for (int i = 0; codecs[i]; i++)
        if (codecs[i]->kind == kind) return codecs[i];
    return NULL;
}

static const mz_codec *codec_by_name(const char *name)
{
    for (int i = 0; codecs[i]; i++)
        if (strcmp(codecs[i]->name, name) == 0) return codecs[i];
    return NULL;
}

/* CRC-32 (zlib's crc32: the same value for every input): every record and
 * header checksum of the container goes through it, a trace token of ~400
 * bytes as an op of ~40. Below 1 KiB, where zlib's crc32 goes a byte at a
 * time, slicing by 16 bytes with 16 tables (then 8, then bytes): measured
 * 1.2-1.4x slicing by 8 at 100-400 bytes and 2-8x zlib's; from 1 KiB zlib's
 * braided loop is the faster (test/unit-crc checks the values
 * against zlib's for lengths 0-3000, every alignment and split). */
static uint32_t crc_table[16][256];

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = c & 1 ? (c >> 1) ^ 0xedb88320u : c >> 1;
        crc_table[0][i] = c;
    }
    for (int i = 0; i < 256; i++)
        for (int k = 1; k < 16; k++) crc_table[k][i] = (crc_table[k - 1][i] >> 8) ^ crc_table[0][crc_table[k - 1][i] & 0xff];
}

uint32_t mz_crc32(uint32_t crc, const void *buf, size_t n)
{
    static int ready;
    const uint8_t *p = buf;
    uint32_t c = ~crc;
    const uint32_t(*t)[256] = (const uint32_t(*)[256])crc_table;
    if (n >= 1024) return (uint32_t)crc32(crc, p, (uInt)n);
    if (!ready) crc_init(), ready = 1;
    for (; n >= 16; p += 16, n -= 16) {
        uint32_t a = mz_get_u32(p) ^ c, b = mz_get_u32(p + 4), d = mz_get_u32(p + 8), e = mz_get_u32(p + 12);
        c = t[15][a & 0xff] ^ t[14][(a >> 8) & 0xff] ^ t[13][(a >> 16) & 0xff] ^ t[12][a >> 24] ^
            t[11][b & 0xff] ^ t[10][(b >> 8) & 0xff] ^ t[9][(b >> 16) & 0xff] ^ t[8][b >> 24] ^
            t[7][d & 0xff] ^ t[6][(d >> 8) & 0xff] ^ t[5][(d >> 16) & 0xff] ^ t[4][d >> 24] ^
            t[3][e & 0xff] ^ t[2][(e >> 8) & 0xff] ^ t[1][(e >> 16) & 0xff] ^ t[0][e >> 24];
    }
    if (n >= 8) {
        uint32_t a = mz_get_u32(p) ^ c, b = mz_get_u32(p + 4);
        c = t[7][a & 0xff] ^ t[6][(a >> 8) & 0xff] ^ t[5][(a >> 16) & 0xff] ^ t[4][a >> 24] ^
            t[3][b & 0xff] ^ t[2][(b >> 8) & 0xff] ^ t[1][(b >> 16) & 0xff] ^ t[0][b >> 24];
        p += 8, n -= 8;
    }
    while (n--) c = (c >> 8) ^ t[0][(c ^ *p++) & 0xff];
    return ~c;
}

static uint32_t record_crc(const uint8_t *p, size_t n) { return mz_crc32(0, p, n); }

/* Prefix the current error message with a location. */
static void error_at(const char *where)
{
    mz_error_prefix("%s", where);
}

/* Check the @HD line: major version we read, and kind. */
static int check_hd(const mz_header *h, const char *name, char *kind)
{
    char v[64];
    int i = mz_header_find(h, "@HD", 0);
    long major;
    if (i != 0) {
        mz_error("%s: header does not start with an @HD line", name);
        return -1;
    }
    if (!mz_header_value(h, i, "VN", v, sizeof v)) {
        mz_error("%s: header @HD has no VN (format version)", name);
        return -1;
    }
    {
        char *dot = strchr(v, '.');
        if (dot) *dot = '\0';
        if (mz_parse_long(v, 0, 1000, "@HD VN", &major) < 0) {
            error_at(name);
            return -1;
        }
    }
    if (major != MZ_MAJOR) {
        mz_error("%s: format version %ld is not supported (this is mozart-tools %s, format %d.%d)",
                 name, major, MZ_VERSION, MZ_MAJOR, MZ_MINOR);
        return -1;
    }
    if (!mz_header_value(h, i, "KD", v, sizeof v)) {
        mz_error("%s: header @HD has no KD (stream kind)", name);
        return -1;
    }
    {
        const mz_codec *c = codec_by_name(v);
        if (!c) {
            mz_error("%s: unknown stream kind '%s'", name, v);
            return -1;
        }
        if (*kind && *kind != c->kind) {
            mz_error("%s: header says kind %s but the magic says '%c'", name, v, *kind);
            return -1;
        }
        *kind = c->kind;
    }
    return 0;
}

/* Read exactly n bytes of the part 'what' of a binary stream. A read that
 * stops short says so and names the part; an input error (gzip) keeps its
 * message and adds the part. Returns 0 or -1. */
static int read_part(mz_in *in, void *buf, size_t n, const char *what)
{
    long got = mz_in_read(in, buf, n);
    if (got == (long)n) return 0;
    if (got == 0) {
        mz_error("%s: truncated: input ends inside %s", mz_in_name(in), what);
        return -1;
    }
    mz_error_suffix(" (in %s)", what);
    return -1;
}

struct mz_reader {
    mz_in *in;
    mz_header h;
    char kind;
    int text, done;
    const mz_codec *codec;
    void *ctx;
    mz_buf rec;
    uint64_t count;
    int in_record; /* the last record read is the one errors refer to */
    char where[512];
    mz_spool *log;        /* CRC of every record of the first pass (mz_reader_remember) */
    int checking;         /* second pass: records are checked against the log */
    uint64_t first_count; /* records of the first pass */
};

/* Read the magic and the header of r->in (named path in messages) into
 * r->h, r->kind and r->text. Returns 0 or -1. */
static int read_header(mz_reader *r, const char *path)
{
    uint8_t magic[8];
    long n;
    n = mz_in_peek(r->in, magic, 4);
    if (n < 0) return -1;
    if (n == 0) {
        mz_error("%s: empty input", path);
        return -1;
    }
    r->text = 0;
    if (n >= 3 && magic[0] == 'M' && magic[1] == 'Z') {
        uint32_t hlen;
        char *text;
        if (read_part(r->in, magic, 8, "the magic and header length") < 0) return -1;
        if (magic[3] != MZ_MAJOR) {
            mz_error("%s: format version %d is not supported (this is mozart-tools %s, format %d.%d)",
                     path, magic[3], MZ_VERSION, MZ_MAJOR, MZ_MINOR);
            return -1;
        }
        r->kind = magic[2];
        hlen = mz_get_u32(magic + 4);
        if (hlen > MZ_MAX_HEADER) {
            mz_error("%s: corrupt header length %u", path, hlen);
            return -1;
        }
        text = mz_malloc(hlen + 1);
        if (read_part(r->in, text, hlen, "the header") < 0 ||
            read_part(r->in, magic, 4, "the header checksum") < 0) {
            free(text);
            return -1;
        }
        if (mz_get_u32(magic) != mz_crc32(0, text, hlen)) {
            mz_error("%s: corrupt header (checksum mismatch)", path);
            free(text);
            return -1;
        }
        if (mz_header_parse(&r->h, text, hlen) < 0) {
            error_at(path);
            free(text);
            return -1;
        }
        free(text);
    } else if (n >= 3 && memcmp(magic, "@HD", 3) == 0) {
        mz_buf text = {0};
        char *line;
        long len;
        r->text = 1;
        r->kind = 0;
        for (;;) {
            n = mz_in_peek(r->in, magic, 5);
            if (n < 1 || magic[0] != '@') break;
            /* a stream with no records: @EOF right after the header */
            if (n == 5 && memcmp(magic, "@EOF\t", 5) == 0) break;
            if ((len = mz_in_getline(r->in, &line)) < 0) break;
            mz_buf_put(&text, line, len);
            mz_buf_put(&text, "\n", 1);
        }
        if (mz_in_failed(r->in)) {
            mz_buf_free(&text);
            return -1;
        }
        if (mz_in_peek(r->in, magic, 1) == 0) {
            /* the header may itself be cut short: say so before checking it */
            mz_error("%s: truncated: input ends after the header (no records, no @EOF line)", path);
            mz_buf_free(&text);
            return -1;
        }
        if (mz_header_parse(&r->h, text.s, text.n) < 0) {
            error_at(path);
            mz_buf_free(&text);
            return -1;
        }
        mz_buf_free(&text);
    } else {
        mz_error("%s: not an mz stream (no MZ magic and no @HD header line)", path);
        return -1;
    }
    return check_hd(&r->h, path, &r->kind);
}

mz_reader *mz_reader_open(const char *path, char kind)
{
    mz_reader *r = mz_calloc(1, sizeof *r);
    if (!(r->in = mz_in_open(path))) goto fail;
    if (read_header(r, path) < 0) goto fail;
    if (kind && r->kind != kind) {
        mz_error("%s: is a %s stream, expected a %s stream", path, mz_codec_for(r->kind)->name,
                 mz_codec_for(kind)->name);
        goto fail;
    }
    r->codec = mz_codec_for(r->kind);
    if (!(r->ctx = r->codec->init(&r->h))) {
        error_at(path);
        goto fail;
    }
    return r;
fail: {
    /* closing may fail too (a truncated gzip): report the first error */
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", mz_errmsg());
    mz_reader_close(r);
    mz_error("%s", msg);
    return NULL;
}
}

int mz_reader_remember(mz_reader *r)
{
    if (r->log || r->count) {
        mz_error("%s: mz_reader_remember: call it once, before the first record", mz_in_name(r->in));
        return -1;
    }
    return (r->log = mz_spool_open(4)) ? 0 : -1;
}

int mz_reader_rewind(mz_reader *r)
{
    mz_header first = r->h;
    int text = r->text, same;
    char kind = r->kind;
    const char *name = mz_in_name(r->in);
    if (!r->log || !r->done) {
        mz_error("%s: mz_reader_rewind: only after a whole first pass begun by mz_reader_remember", name);
        return -1;
    }
    memset(&r->h, 0, sizeof r->h);
    if (mz_in_rewind(r->in) < 0 || read_header(r, name) < 0) {
        mz_header_free(&r->h);
        r->h = first;
        mz_error_prefix("%s: changed while being read: reading it again", name);
        return -1;
    }
    same = text == r->text && kind == r->kind && first.n == r->h.n;
    for (int i = 0; same && i < first.n; i++) same = strcmp(first.line[i], r->h.line[i]) == 0;
    mz_header_free(&first);
    if (!same) {
        mz_error("%s: changed while being read: its header differs from the one read first", name);
        return -1;
    }
    /* a fresh codec context: the text codecs keep state from record to record */
    r->codec->done(r->ctx);
    if (!(r->ctx = r->codec->init(&r->h))) {
        error_at(name);
        return -1;
    }
    if (mz_spool_rewind(r->log) < 0) return -1;
    r->first_count = r->count;
    r->count = 0;
    r->done = 0;
    r->in_record = 0;
    r->checking = 1;
    return 0;
}

int mz_reader_is_regular(const mz_reader *r) { return mz_in_is_regular(r->in); }
int mz_reader_is_gzip(const mz_reader *r) { return mz_in_is_gzip(r->in); }

/* Remember (first pass) or check (second pass) the CRC of the record just
 * read. Returns 0, or -1 when the second pass read something else. */
static int log_record(mz_reader *r, uint32_t crc)
{
    uint8_t b[4], was[4];
    int got;
    mz_put_u32(b, crc);
    if (!r->checking) return mz_spool_put(r->log, b);
    if ((got = mz_spool_get(r->log, was)) < 0) return -1;
    if (got == 0) {
        mz_error("%s: changed while being read: it has more records than the %llu read first",
                 mz_in_name(r->in), (unsigned long long)r->first_count);
        return -1;
    }
    if (memcmp(b, was, 4) != 0) {
        mz_error("%s: changed while being read: record %llu differs from the one read first",
                 mz_in_name(r->in), (unsigned long long)r->count);
        return -1;
    }
    return 0;
}

/* At the end marker of a second pass: as many records as the first. */
static int log_end(mz_reader *r)
{
    if (r->checking && r->count != r->first_count) {
        mz_error("%s: changed while being read: %llu records, then %llu", mz_in_name(r->in),
                 (unsigned long long)r->first_count, (unsigned long long)r->count);
        return -1;
    }
    return 0;
}

const mz_header *mz_reader_header(const mz_reader *r) { return &r->h; }
char mz_reader_kind(const mz_reader *r) { return r->kind; }
int mz_reader_is_text(const mz_reader *r) { return r->text; }
const char *mz_reader_name(const mz_reader *r) { return mz_in_name(r->in); }
uint64_t mz_reader_count(const mz_reader *r) { return r->count; }

const char *mz_reader_where(const mz_reader *r)
{
    if (r->text)
        snprintf((char *)r->where, sizeof r->where, "%s: line %ld", mz_in_name(r->in),
                 mz_in_lineno(r->in));
    else
        snprintf((char *)r->where, sizeof r->where, "%s: record %llu", mz_in_name(r->in),
                 (unsigned long long)r->count + !r->in_record);
    return r->where;
}

static int end_of_input(mz_reader *r)
{
    uint8_t b;
    long n = mz_in_peek(r->in, &b, 1);
    if (n < 0) return -1;
    if (n > 0) {
        mz_error("%s: data after the end marker", mz_in_name(r->in));
        return -1;
    }
    r->done = 1;
    return 0;
}

static int next_binary(mz_reader *r, const uint8_t **rec, size_t *len)
{
    char what[64];
    uint8_t b[8];
    uint32_t n, crc;
    long got;
    r->in_record = 0;
    got = mz_in_read(r->in, b, 4);
    if (got == 0) {
        mz_error("%s: truncated: no end marker after %llu records", mz_in_name(r->in),
                 (unsigned long long)r->count);
        return -1;
    }
    if (got < 0) {
        mz_error_suffix(" (in record %llu)", (unsigned long long)r->count + 1);
        return -1;
    }
    n = mz_get_u32(b);
    if (n == 0) {
        uint64_t count;
        if (read_part(r->in, b, 8, "the end marker") < 0) return -1;
        count = (uint64_t)mz_get_u32(b) | (uint64_t)mz_get_u32(b + 4) << 32;
        if (count != r->count) {
            mz_error("%s: end marker counts %llu records but %llu were read", mz_in_name(r->in),
                     (unsigned long long)count, (unsigned long long)r->count);
            return -1;
        }
        return log_end(r) < 0 || end_of_input(r) < 0 ? -1 : 0;
    }
    if (n > MZ_MAX_RECORD) {
        mz_error("%s: corrupt record length %u", mz_reader_where(r), n);
        return -1;
    }
    r->rec.n = 0;
    mz_buf_reserve(&r->rec, n + 4);
    /* name the record only when the read fails: formatting it for every
     * record costs more than the read itself */
    got = mz_in_read(r->in, r->rec.s, n + 4);
    if (got != (long)(n + 4)) {
        snprintf(what, sizeof what, "record %llu", (unsigned long long)r->count + 1);
        if (got == 0) {
            mz_error("%s: truncated: input ends inside %s", mz_in_name(r->in), what);
        } else {
            mz_error_suffix(" (in %s)", what);
        }
        return -1;
    }
    crc = mz_get_u32((uint8_t *)r->rec.s + n);
    if (crc != record_crc((const uint8_t *)r->rec.s, n)) {
        mz_error("%s: corrupt (checksum mismatch)", mz_reader_where(r));
        return -1;
    }
    r->count++;
    r->in_record = 1;
    if (r->log && log_record(r, crc) < 0) return -1;
    *rec = (const uint8_t *)r->rec.s;
    *len = n;
    return 1;
}

static int next_text(mz_reader *r, const uint8_t **rec, size_t *len)
{
    char *line;
    long n = mz_in_getline(r->in, &line);
    if (n < 0) {
        if (!mz_in_failed(r->in))
            mz_error("%s: truncated: no @EOF line after %llu records", mz_in_name(r->in),
                     (unsigned long long)r->count);
        return -1;
    }
    if (line[0] == '@') {
        long count;
        if (strncmp(line, "@EOF\t", 5) != 0) {
            mz_error("%s: header line after the records", mz_reader_where(r));
            return -1;
        }
        if (mz_parse_long(line + 5, 0, 0x7fffffffffffffffL, "@EOF count", &count) < 0) {
            error_at(mz_reader_where(r));
            return -1;
        }
        if ((uint64_t)count != r->count) {
            mz_error("%s: @EOF counts %ld records but %llu were read", mz_reader_where(r), count,
                     (unsigned long long)r->count);
            return -1;
        }
        return log_end(r) < 0 || end_of_input(r) < 0 ? -1 : 0;
    }
    r->rec.n = 0;
    if (r->codec->from_text(r->ctx, line, &r->rec) < 0) {
        error_at(mz_reader_where(r));
        return -1;
    }
    r->count++;
    if (r->log && log_record(r, record_crc((const uint8_t *)r->rec.s, r->rec.n)) < 0) return -1;
    *rec = (const uint8_t *)r->rec.s;
    *len = r->rec.n;
    return 1;
}

int mz_reader_next(mz_reader *r, const uint8_t **rec, size_t *len)
{
    if (r->done) return 0;
    return r->text ? next_text(r, rec, len) : next_binary(r, rec, len);
}

int mz_reader_close(mz_reader *r)
{
    int ret = 0;
    if (!r) return 0;
    if (r->ctx) r->codec->done(r->ctx);
    if (r->in) ret = mz_in_close(r->in);
    mz_spool_close(r->log);
    mz_header_free(&r->h);
    mz_buf_free(&r->rec);
    free(r);
    return ret;
}

struct mz_writer {
    mz_out *out;
    const mz_codec *codec;
    void *ctx;
    int text;
    uint64_t count;
    mz_buf line;
};

/* The header as written: @HD first with our version and the kind. */
static void writer_header(const mz_header *src, const mz_codec *c, mz_header *h)
{
    mz_header_copy(h, src);
    mz_header_remove(h, "@HD");
    mz_header_add(h, "@HD\tVN:%d.%d\tKD:%s", MZ_MAJOR, MZ_MINOR, c->name);
    /* move the new @HD line to the front */
    {
        char *hd = h->line[h->n - 1];
        memmove(h->line + 1, h->line, (h->n - 1) * sizeof *h->line);
        h->line[0] = hd;
    }
}

/* Issue 14: a writer refuses what its own readers would refuse, before it
 * writes anything: a header longer than MZ_MAX_HEADER and a line that would
 * not read back as the same line (not "@TAG", an @EOF line, which ends a
 * text header, or a '\r' at its end, which a text reader drops). The
 * codec's own header checks run as a reader's do (codec->init). (A
 * placement section copied from an input as it was is the input's fault:
 * the tools that read it name that file.) name: for messages. */
static int check_header(const mz_header *h, const char *name)
{
    size_t total = 0, big = 0;
    int big_i = -1, big_n = 0;
    for (int i = 0; i < h->n; i++) {
        const char *l = h->line[i];
        size_t n = strlen(l);
        total += n + 1;
        if (n < 3 || l[0] != '@' || l[n - 1] == '\r' || (strncmp(l, "@EOF", 4) == 0 && (!l[4] || l[4] == '\t'))) {
            mz_error("%s: cannot write header line %d ('%.40s'): a reader would not read it back", name, i + 1, l);
            return -1;
        }
    }
    if (total > MZ_MAX_HEADER) {
        /* name the tag that takes most of it (among the first 64 tags seen) */
        struct { const char *tag; size_t tl, sum; int n; } tags[64];
        int nt = 0;
        for (int i = 0; i < h->n; i++) {
            size_t tl = strcspn(h->line[i], "\t");
            int t;
            for (t = 0; t < nt && !(tags[t].tl == tl && strncmp(tags[t].tag, h->line[i], tl) == 0); t++)
                ;
            if (t == nt) {
                if (nt == 64) continue;
                tags[nt].tag = h->line[i], tags[nt].tl = tl, tags[nt].sum = 0, tags[nt].n = 0, nt++;
            }
            tags[t].sum += strlen(h->line[i]) + 1, tags[t].n++;
            if (tags[t].sum > big) big = tags[t].sum, big_i = t;
        }
        big_n = tags[big_i].n;
        mz_error("%s: cannot write a header of %.1f MiB (%d %.*s lines take %.1f MiB): a reader takes at most %u MiB",
                 name, total / 1048576.0, big_n, (int)tags[big_i].tl, tags[big_i].tag, big / 1048576.0,
                 MZ_MAX_HEADER >> 20);
        return -1;
    }
    return 0;
}

mz_writer *mz_writer_open(const char *path, char kind, const mz_header *src, int text, int level)
{
    mz_writer *w = mz_calloc(1, sizeof *w);
    mz_header h;
    mz_buf b = {0};
    const char *name = strcmp(path, "-") == 0 ? "standard output" : path;
    w->codec = mz_codec_for(kind);
    w->text = text;
    writer_header(src, w->codec, &h);
    if (check_header(&h, name) < 0) goto fail;
    if (!(w->ctx = w->codec->init(&h))) goto fail;
    if (!(w->out = mz_out_open(path, text ? 0 : level))) goto fail;
    mz_header_text(&h, &b);
    if (text) {
        if (mz_out_write(w->out, b.s, b.n) < 0) goto fail;
    } else {
        uint8_t m[8] = {'M', 'Z', (uint8_t)kind, MZ_MAJOR}, crc[4];
        mz_put_u32(m + 4, (uint32_t)b.n);
        mz_put_u32(crc, mz_crc32(0, b.s, b.n));
        if (mz_out_write(w->out, m, 8) < 0 || mz_out_write(w->out, b.s, b.n) < 0 ||
            mz_out_write(w->out, crc, 4) < 0)
            goto fail;
    }
    mz_buf_free(&b);
    mz_header_free(&h);
    return w;
fail:
    mz_buf_free(&b);
    mz_header_free(&h);
    mz_writer_abort(w);
    return NULL;
}

int mz_writer_is_tty(const mz_writer *w) { return mz_out_is_tty(w->out); }

int mz_writer_put(mz_writer *w, const uint8_t *rec, size_t len)
{
    /* length 0 is the end marker; readers refuse more than MZ_MAX_RECORD */
    if (len == 0 || len > MZ_MAX_RECORD) {
        mz_error("cannot write record %llu of %zu bytes: a record holds 1 to %u bytes",
                 (unsigned long long)w->count + 1, len, MZ_MAX_RECORD);
        return -1;
    }
    w->count++;
    if (w->text) {
        w->line.n = 0;
        if (w->codec->to_text(w->ctx, rec, len, &w->line) < 0) return -1;
        mz_buf_put(&w->line, "\n", 1);
        return mz_out_write(w->out, w->line.s, w->line.n);
    } else {
        uint8_t b[4];
        mz_put_u32(b, (uint32_t)len);
        if (mz_out_write(w->out, b, 4) < 0 || mz_out_write(w->out, rec, len) < 0) return -1;
        mz_put_u32(b, record_crc(rec, len));
        return mz_out_write(w->out, b, 4);
    }
}

static void writer_free(mz_writer *w)
{
    if (w->ctx) w->codec->done(w->ctx);
    mz_buf_free(&w->line);
    free(w);
}

int mz_writer_close(mz_writer *w)
{
    int ret;
    if (w->text) {
        ret = mz_out_printf(w->out, "@EOF\t%llu\n", (unsigned long long)w->count);
    } else {
        uint8_t b[12];
        mz_put_u32(b, 0);
        mz_put_u32(b + 4, (uint32_t)w->count);
        mz_put_u32(b + 8, (uint32_t)(w->count >> 32));
        ret = mz_out_write(w->out, b, 12);
    }
    if (ret < 0) {
        mz_out_abort(w->out);
    } else {
        ret = mz_out_close(w->out);
    }
    writer_free(w);
    return ret;
}

void mz_writer_abort(mz_writer *w)
{
    if (!w) return;
    mz_out_abort(w->out);
    writer_free(w);
}
