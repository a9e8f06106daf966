/* io.h: private to libmz: parsing, files, the stream header, the container (util.c, io.c, header.c, stream.c). */
#ifndef MZ_IO_H
#define MZ_IO_H

#include "mz.h"

/* ---------------------------------------------------------------- parsing */
/* Tables whose size follows from the input's geometry (the generator's,
 * co-activation counts) are checked before they are allocated (issue 14):
 * a small config must not ask for tens of GiB. mz_check_table returns 0
 * when bytes is within MZ_MAX_TABLE_BYTES, else -1 and the error
 * "WHAT would take N GiB, more than the limit of 2 GiB: HOW" (HOW: how to
 * ask for less). */
#define MZ_MAX_TABLE_BYTES (2ull << 30)
int mz_check_table(double bytes, const char *what, const char *how);
/* Parse "0-3,7,9-11" into a sorted list of unique ints in [lo, hi].
 * *out is malloc'ed; returns the count or -1. The items may list at most
 * MZ_RANGES_MAX values together (counted before allocating); callers pass
 * the bounds the input allows (layers of the model, steps of the trace). */
#define MZ_RANGES_MAX (1 << 24)
int mz_parse_ranges(const char *s, int lo, int hi, const char *what, int **out);
/* Format a sorted int list as ranges ("0-3,7"); returns buf. */
char *mz_format_ranges(const int *v, int n, char *buf, size_t size);
/* Shortest decimal text that reads back (strtof) as exactly v. */
int mz_format_float(char *buf, size_t size, float v);

/* A growable byte buffer. */
typedef struct {
    char *s;
    size_t n, m;
} mz_buf;
void mz_buf_reserve(mz_buf *b, size_t extra);
void mz_buf_put(mz_buf *b, const void *p, size_t n);
void mz_buf_puts(mz_buf *b, const char *s);
void mz_buf_printf(mz_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void mz_buf_free(mz_buf *b);

/* Split s in place at 'sep' into at most max fields; returns the count,
 * or -1 when there are more than max. */
int mz_split(char *s, char sep, char **fields, int max);

/* ---------------------------------------------------------------- files
 * mz_in reads "-" (stdin) or a path, plain or gzip, sniffed by content.
 * Truncated or corrupt gzip is an error, never a silent short read. */
typedef struct mz_in mz_in;
/* Close with mz_in_close. */
mz_in *mz_in_open(const char *path);
/* Read exactly n bytes: returns n, 0 at a clean end of input before the
 * first byte, or -1 (error, including a short read in the middle). */
long mz_in_read(mz_in *in, void *buf, size_t n);
/* Read one line without its '\n' (NUL-terminated, valid to the next
 * call). Returns its length, or -1 at end of input or on error
 * (check mz_in_failed). A final line without '\n' is an error. */
long mz_in_getline(mz_in *in, char **line);
/* Look at up to n bytes without consuming them; returns count (< n at end). */
long mz_in_peek(mz_in *in, void *buf, size_t n);
/* Read the same file again from its first byte, through the descriptor
 * opened (not the path, which may name another file by now). Only for a
 * regular file; returns 0 or -1. */
int mz_in_rewind(mz_in *in);
int mz_in_is_regular(const mz_in *in);  /* 1 if the input is a regular file */
int mz_in_failed(const mz_in *in);
int mz_in_is_gzip(const mz_in *in);
const char *mz_in_name(const mz_in *in);
long mz_in_lineno(const mz_in *in);   /* lines read so far by getline */
uint64_t mz_in_offset(const mz_in *in); /* uncompressed bytes consumed */
int mz_in_close(mz_in *in);

/* mz_out writes "-" (stdout) or a path, gzip (level 1-9) or plain
 * (level 0). A path is written to a temporary file beside it and renamed
 * into place by mz_out_close, so an error never leaves half a file;
 * through a symlink, beside the file it names and onto that file (the
 * link stays). /dev/stdout and /dev/stderr (and /dev/fd/1, 2) are the
 * streams themselves; a device or a pipe is written straight. */
typedef struct mz_out mz_out;
mz_out *mz_out_open(const char *path, int level);
int mz_out_write(mz_out *out, const void *p, size_t n);
int mz_out_puts(mz_out *out, const char *s);
int mz_out_printf(mz_out *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Flush and close; checks every write. Returns 0 or -1. */
int mz_out_close(mz_out *out);
/* Discard: close and remove the temporary file. */
void mz_out_abort(mz_out *out);
int mz_out_is_tty(const mz_out *out);

/* Flush and close stdout, treating a full disk as an error. */
int mz_close_stdout(void);

/* Locate a data file (model config, prior, wafer) named on a command line.
 * The rule has no exceptions: NAME with a '/' is a path, used as it is (it
 * must exist); NAME without one is a catalogue name, looked up in
 * $MZ_MODELS, then ../models beside the running program, then the installed
 * data directory, and never in the current directory (a file there is
 * ./NAME; the error says so when one exists). Returns a malloc'ed path or
 * NULL. */
char *mz_find_data(const char *name);
/* The absolute, canonical form of an existing path (realpath), malloc'ed;
 * the path itself when it cannot be resolved. For provenance. */
char *mz_real_path(const char *path);
const char *mz_program_dir(void);

/* Widen the pipe on fd, if it is one, to 1 MiB (Linux F_SETPIPE_SZ), so that
 * a writer of 1 MiB chunks and its reader run at the same time instead of in
 * turns; a no-op elsewhere. */
void mz_pipe_widen(int fd);

/* Fixed-size records spooled to an anonymous temporary file (in $TMPDIR,
 * else /tmp) so that a stream read once can be read again. */
typedef struct mz_spool mz_spool;
/* Close with mz_spool_close. */
mz_spool *mz_spool_open(size_t rec_size);
int mz_spool_put(mz_spool *s, const uint8_t *rec);
int mz_spool_rewind(mz_spool *s);
/* 1 and rec filled, 0 at the end, -1 on error. */
int mz_spool_get(mz_spool *s, uint8_t *rec);
void mz_spool_close(mz_spool *s);

/* ---------------------------------------------------------------- header
 * The text header every mz stream carries: lines "@TAG\tkey:value\t...",
 * kept in order. Tools read the sections they know, pass the others
 * through, and append their own section and an @PG provenance line. */
typedef struct {
    int n, m;
    char **line; /* without '\n' */
} mz_header;

/* h: free with mz_header_free (on failure too). */
int mz_header_parse(mz_header *h, const char *text, size_t len);
void mz_header_free(mz_header *h);
/* dst (not initialised): free with mz_header_free. */
void mz_header_copy(mz_header *dst, const mz_header *src);
void mz_header_add(mz_header *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void mz_header_add_pg(mz_header *h, const char *prog, int argc, char **argv);
/* The same with what the tool resolved the names it was given to (issue
 * 14): a field KEY:PATH per name before CL (key[i] such as "model" or
 * "prior"; PATH absolute and canonical, "built-in" when path[i] is NULL). */
void mz_header_add_pg_resolved(mz_header *h, const char *prog, int argc, char **argv, int n,
                               const char *const *key, const char *const *path);
/* Remove every line with this tag. */
void mz_header_remove(mz_header *h, const char *tag);
/* Index of the nth (0-based) line with TAG, or -1. */
int mz_header_find(const mz_header *h, const char *tag, int nth);
/* Value of key in line i, copied into buf; returns buf or NULL if absent. */
const char *mz_header_value(const mz_header *h, int i, const char *key, char *buf, size_t size);
/* Required fields: error naming tag and key when absent or out of range. */
int mz_header_long(const mz_header *h, int i, const char *key, long lo, long hi, long *out);
int mz_header_double(const mz_header *h, int i, const char *key, double lo, double hi, double *out);
void mz_header_text(const mz_header *h, mz_buf *b); /* all lines, '\n' after each */

/* ---------------------------------------------------------------- streams
 * The container every mz tool reads and writes. Two encodings of one model
 * (like SAM/BAM):
 *   binary: "MZ" kind major, u32 header length, header text, u32 CRC-32 of
 *           the header text, then records
 *           (u32 length > 0, payload, u32 CRC-32 of payload), then the end
 *           marker (u32 0, u64 record count); gzip unless level 0.
 *   text:   the header lines, one line per record, then "@EOF\t<count>".
 * Kinds: 'T' routing trace, 'S' schedule. Every integer is little-endian. */
#define MZ_MAJOR 1
#define MZ_MINOR 0
#define MZ_KIND_TRACE 'T'
#define MZ_KIND_SCHED 'S'
#define MZ_MAX_RECORD (1u << 26)
#define MZ_MAX_HEADER (64u << 20) /* bytes of header text */

/* Little-endian integers of the container and its codecs. */
static inline uint32_t mz_get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline void mz_put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16), p[3] = (uint8_t)(v >> 24);
}
/* CRC-32 of n bytes continuing crc (0 to start): zlib's crc32, the same
 * value, slicing by 16 bytes (stream.c). */
uint32_t mz_crc32(uint32_t crc, const void *buf, size_t n);

/* A record codec: converts one record between binary and text. */
typedef struct mz_codec {
    char kind;
    const char *name;
    void *(*init)(const mz_header *h);     /* NULL and mz_error on bad header */
    void (*done)(void *ctx);
    /* Append the text line (no '\n') of a binary record; -1 if invalid. */
    int (*to_text)(void *ctx, const uint8_t *rec, size_t len, mz_buf *line);
    /* Replace out with the binary record of a text line; -1 if invalid. */
    int (*from_text)(void *ctx, char *line, mz_buf *out);
} mz_codec;
const mz_codec *mz_codec_for(char kind);

typedef struct mz_reader mz_reader;
/* Open and read the header. 'kind' is the kind expected, or 0 for any.
 * Close with mz_reader_close (which checks the end marker). */
mz_reader *mz_reader_open(const char *path, char kind);
const mz_header *mz_reader_header(const mz_reader *r);
char mz_reader_kind(const mz_reader *r);
int mz_reader_is_text(const mz_reader *r);
const char *mz_reader_name(const mz_reader *r);
/* Next record in binary form (text input is converted through the codec).
 * Returns 1 with rec and len valid until the next call, 0 after a verified
 * end marker, -1 on error (message names file and record or line). */
int mz_reader_next(mz_reader *r, const uint8_t **rec, size_t *len);
uint64_t mz_reader_count(const mz_reader *r);
/* Two passes over one input (mz-place): call mz_reader_remember before the
 * first record, read to the end, then mz_reader_rewind to read it again
 * from its first byte through the descriptor opened (a regular file only).
 * The second pass checks that the header is the same and that every
 * record is the one read first (by CRC-32, logged to a temporary file), so
 * a file replaced or rewritten in between is an error, never a mix. */
int mz_reader_remember(mz_reader *r);
int mz_reader_rewind(mz_reader *r);
int mz_reader_is_regular(const mz_reader *r);
int mz_reader_is_gzip(const mz_reader *r);
/* Describe the current position for error messages ("FILE: record N"). */
const char *mz_reader_where(const mz_reader *r);
int mz_reader_close(mz_reader *r);

typedef struct mz_writer mz_writer;
/* text: write the text form; level: gzip level for binary (0 = plain).
 * Refuses (NULL, nothing written, no file made) a header its readers would
 * refuse: longer than MZ_MAX_HEADER, a line that would not read back, a
 * geometry the codec refuses. mz_writer_put refuses a record of 0 or more
 * than MZ_MAX_RECORD bytes. Finish with mz_writer_close, or mz_writer_abort (nothing left under path). */
mz_writer *mz_writer_open(const char *path, char kind, const mz_header *h, int text, int level);
int mz_writer_put(mz_writer *w, const uint8_t *rec, size_t len);
int mz_writer_close(mz_writer *w);   /* writes the end marker */
void mz_writer_abort(mz_writer *w);
int mz_writer_is_tty(const mz_writer *w);
/* Binary data never goes to a terminal: when w writes to one, abort it
 * and return -1 with the error "refusing to write binary data to a
 * terminal (...)"; else 0. */
/* (opt.c) */
int mz_opt_refuse_tty(mz_writer *w);

#endif
