/* io.c: the one way to open inputs (plain or gzip, "-" is stdin) and outputs; pipes widened, records spooled. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "io.h"

#ifndef MZ_DATADIR
#define MZ_DATADIR "/usr/local/share/mozart-tools/models"
#endif

#define IN_CHUNK (256 * 1024)
#define OUT_CHUNK (1024 * 1024)

struct mz_in {
    gzFile gz;
    int fd;          /* the descriptor opened, held for mz_in_rewind; zlib reads a dup of it */
    char *name;
    char *buf;
    size_t cap, pos, end;
    int eof, failed, gzip;
    long lineno;
    uint64_t offset;
};

/* Record a read error, naming zlib's diagnosis when there is one. Offsets
 * count uncompressed bytes; zlib drops the output of a failing read, so a
 * corruption lies somewhere after the offset given. */
static void in_fail(mz_in *in, const char *why)
{
    int zerr = Z_OK;
    const char *zmsg = gzerror(in->gz, &zerr), *p;
    unsigned long long at = in->offset + (in->end - in->pos);
    in->failed = 1;
    /* zlib prefixes its message with the descriptor: "<fd:3>: " */
    if (zmsg[0] == '<' && (p = strstr(zmsg, ">: ")) != NULL) zmsg = p + 3;
    if (zerr == Z_BUF_ERROR)
        mz_error("%s: truncated gzip input (unexpected end of file after %llu bytes of data)",
                 in->name, at);
    else if (zerr == Z_ERRNO)
        mz_error("%s: %s", in->name, strerror(errno));
    else if (zerr != Z_OK && at == 0)
        mz_error("%s: corrupt gzip input: %s", in->name, zmsg);
    else if (zerr != Z_OK)
        mz_error("%s: corrupt gzip input: %s (after byte %llu of the data)", in->name, zmsg, at);
    else
        mz_error("%s: %s", in->name, why);
}

/* Refill so that at least 'want' bytes are buffered if the input has them.
 * Returns 0 or -1 on error. */
static int in_fill(mz_in *in, size_t want)
{
    if (in->end - in->pos >= want || in->eof) return 0;
    if (in->pos > 0) {
        memmove(in->buf, in->buf + in->pos, in->end - in->pos);
        in->end -= in->pos;
        in->pos = 0;
    }
    if (want > in->cap) {
        while (in->cap < want) in->cap *= 2;
        in->buf = mz_realloc(in->buf, in->cap + 1);
    }
    while (in->end < want && !in->eof) {
        size_t room = in->cap - in->end;
        int n = gzread(in->gz, in->buf + in->end, room > INT_MAX ? INT_MAX : (unsigned)room);
        if (n < 0) {
            in_fail(in, "read error");
            return -1;
        }
        if (n == 0) {
            int zerr = Z_OK;
            gzerror(in->gz, &zerr);
            if (zerr != Z_OK) {
                in_fail(in, "read error");
                return -1;
            }
            in->eof = 1;
        }
        in->end += n;
    }
    return 0;
}

/* Start reading in->fd from its current offset: a zlib stream on a dup of
 * it (gzclose closes the dup; the descriptor itself stays open), the first
 * bytes buffered. Returns 0 or -1. */
static int in_start(mz_in *in)
{
    int fd = dup(in->fd);
    if (fd < 0 || !(in->gz = gzdopen(fd, "rb"))) {
        mz_error("%s: cannot open: %s", in->name, fd < 0 ? strerror(errno) : "zlib cannot read it");
        if (fd >= 0) close(fd);
        return -1;
    }
    if (gzbuffer(in->gz, IN_CHUNK) < 0) {
        mz_error("%s: cannot open: zlib refused its buffer size", in->name);
        return -1;
    }
    in->pos = in->end = 0;
    in->eof = in->failed = 0;
    in->lineno = 0;
    in->offset = 0;
    if (in_fill(in, 2) < 0) return -1;
    /* zlib reads gzip and plain data alike; remember which this was. */
    in->gzip = !gzdirect(in->gz);
    return 0;
}

mz_in *mz_in_open(const char *path)
{
    mz_in *in = mz_calloc(1, sizeof *in);
    int fd;
    in->fd = -1;
    in->name = mz_strdup(path);
    if (strcmp(path, "-") == 0)
        fd = dup(STDIN_FILENO);
    else
        fd = open(path, O_RDONLY);
    if (fd < 0) {
        mz_error("%s: %s", path, strerror(errno));
        goto fail;
    }
    {
        struct stat st;
        if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
            mz_error("%s: is a directory", path);
            close(fd);
            goto fail;
        }
    }
    in->fd = fd;
    in->cap = IN_CHUNK;
    in->buf = mz_malloc(in->cap + 1);
    if (in_start(in) < 0) {
        mz_in_close(in);
        return NULL;
    }
    return in;
fail:
    free(in->name);
    free(in);
    return NULL;
}

long mz_in_read(mz_in *in, void *buf, size_t n)
{
    if (in->failed) return -1;
    if (in_fill(in, n) < 0) return -1;
    if (in->end - in->pos < n) {
        if (in->end == in->pos) return 0;
        in->failed = 1;
        mz_error("%s: truncated: input ends at byte %llu", in->name,
                 (unsigned long long)(in->offset + (in->end - in->pos)));
        return -1;
    }
    memcpy(buf, in->buf + in->pos, n);
    in->pos += n;
    in->offset += n;
    return (long)n;
}

long mz_in_peek(mz_in *in, void *buf, size_t n)
{
    size_t have;
    if (in->failed || in_fill(in, n) < 0) return -1;
    have = in->end - in->pos < n ? in->end - in->pos : n;
    memcpy(buf, in->buf + in->pos, have);
    return (long)have;
}

long mz_in_getline(mz_in *in, char **line)
{
    size_t scanned = 0;
    if (in->failed) return -1;
    for (;;) {
        char *start = in->buf + in->pos;
        char *nl = memchr(start + scanned, '\n', in->end - in->pos - scanned);
        if (nl) {
            size_t len = nl - start;
            *nl = '\0';
            if (len && nl[-1] == '\r') nl[-1] = '\0', len--;
            *line = start;
            in->pos += (nl - start) + 1;
            in->offset += (nl - start) + 1;
            in->lineno++;
            return (long)len;
        }
        scanned = in->end - in->pos;
        if (in->eof) {
            if (scanned == 0) return -1;
            in->failed = 1;
            mz_error("%s: line %ld: truncated (no newline at end of input)", in->name,
                     in->lineno + 1);
            return -1;
        }
        if (in_fill(in, scanned + IN_CHUNK) < 0) return -1;
    }
}

int mz_in_rewind(mz_in *in)
{
    struct stat st;
    if (fstat(in->fd, &st) < 0 || !S_ISREG(st.st_mode) || lseek(in->fd, 0, SEEK_SET) < 0) {
        mz_error("%s: cannot be read a second time (not a regular file)", in->name);
        in->failed = 1;
        return -1;
    }
    if (in->gz) gzclose(in->gz); /* the first pass's errors were reported then */
    in->gz = NULL;
    if (in_start(in) < 0) {
        in->failed = 1;
        return -1;
    }
    return 0;
}

int mz_in_is_regular(const mz_in *in)
{
    struct stat st;
    return fstat(in->fd, &st) == 0 && S_ISREG(st.st_mode);
}

int mz_in_failed(const mz_in *in) { return in->failed; }
int mz_in_is_gzip(const mz_in *in) { return in->gzip; }
const char *mz_in_name(const mz_in *in) { return in->name; }
long mz_in_lineno(const mz_in *in) { return in->lineno; }
uint64_t mz_in_offset(const mz_in *in) { return in->offset; }

int mz_in_close(mz_in *in)
{
    int ret = 0;
    if (!in) return 0;
    if (in->gz) {
        int z = gzclose(in->gz);
        if (z != Z_OK && !in->failed) {
            /* zlib met the end of a cut gzip file while filling its buffer */
            if (z == Z_BUF_ERROR)
                mz_error("%s: truncated gzip input (unexpected end of file)", in->name);
            else
                mz_error("%s: error closing input", in->name);
            ret = -1;
        }
    }
    if (in->fd >= 0) close(in->fd);
    free(in->buf);
    free(in->name);
    free(in);
    return ret;
}

/* Temporary files of the outputs still open. They are removed when the
 * tool exits without closing them (mz_die) or is killed by SIGINT, SIGTERM
 * or SIGHUP, so an interrupted run leaves neither half a file under the
 * real name nor a stray temporary beside it. Only SIGKILL can leave a
 * temporary behind. */
#define MAX_TMP 16
static char *volatile tmp_open[MAX_TMP];
static int tmp_hooked;

static void tmp_unlink_all(void)
{
    for (int i = 0; i < MAX_TMP; i++)
        if (tmp_open[i]) unlink(tmp_open[i]);
}

static void tmp_on_signal(int sig)
{
    tmp_unlink_all();
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Register (on = 1) or forget (on = 0) a temporary file; signals are held
 * meanwhile so that the handler never sees a half-updated table. */
static int tmp_track(char *path, int on)
{
    sigset_t all, old;
    int i, ret = -1;
    if (!tmp_hooked) {
        static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
        tmp_hooked = 1;
        atexit(tmp_unlink_all);
        for (i = 0; i < (int)(sizeof sigs / sizeof *sigs); i++) {
            struct sigaction sa, cur;
            /* keep a signal ignored (nohup) ignored */
            if (sigaction(sigs[i], NULL, &cur) == 0 && cur.sa_handler == SIG_IGN) continue;
            memset(&sa, 0, sizeof sa);
            sa.sa_handler = tmp_on_signal;
            sigfillset(&sa.sa_mask);
            sigaction(sigs[i], &sa, NULL);
        }
    }
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, &old);
    for (i = 0; i < MAX_TMP; i++) {
        if (on && !tmp_open[i]) {
            tmp_open[i] = path;
            ret = 0;
            break;
        }
        if (!on && tmp_open[i] == path) {
            tmp_open[i] = NULL;
            ret = 0;
            break;
        }
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    return ret;
}

struct mz_out {
    int fd;
    gzFile gz;
    char *path, *tmp;
    char *dest;   /* what tmp is renamed onto: path, or the file a symlink at path names */
    char *buf;
    size_t n;
    int failed, tty;
};

mz_out *mz_out_open(const char *path, int level)
{
    mz_out *out = mz_calloc(1, sizeof *out);
    out->path = mz_strdup(strcmp(path, "-") == 0 ? "standard output" : path);
    /* the standard streams by name are the streams themselves (opening
     * /dev/stdout again would start a regular file over at its first byte,
     * and renaming onto it would replace the link) */
    int std = strcmp(path, "-") == 0 || strcmp(path, "/dev/stdout") == 0 || strcmp(path, "/dev/fd/1") == 0 ? 1
              : strcmp(path, "/dev/stderr") == 0 || strcmp(path, "/dev/fd/2") == 0                         ? 2
                                                                                                           : 0;
    if (std) {
        out->fd = dup(std);
        out->tty = isatty(std);
    } else {
        struct stat st, lst;
        int is_link = lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode);
        char *target = is_link ? realpath(path, NULL) : NULL; /* NULL: dangling, or a loop */
        if ((stat(path, &st) == 0 && !S_ISREG(st.st_mode)) || (is_link && !target)) {
            /* a device, a pipe, or a link to a file not there yet: write straight to it */
            out->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0666);
            free(target);
        } else {
            /* a regular file (or none yet): a temporary beside it, renamed
             * onto it at the end; through a symlink, onto the file it names */
            const char *dest = target ? target : path;
            size_t n = strlen(dest) + 16;
            out->dest = target ? target : mz_strdup(path);
            out->tmp = mz_malloc(n);
            snprintf(out->tmp, n, "%s.tmp.XXXXXX", dest);
            out->fd = mkstemp(out->tmp);
            if (out->fd >= 0) {
                fchmod(out->fd, 0644 & ~umask(umask(0)));
                if (tmp_track(out->tmp, 1) < 0) {
                    mz_error("%s: too many output files open at once", path);
                    close(out->fd);
                    goto fail;
                }
            }
        }
    }
    if (out->fd < 0) {
        mz_error("%s: %s", path, strerror(errno));
        goto fail;
    }
    if (level > 0) {
        char mode[8];
        snprintf(mode, sizeof mode, "wb%d", level > 9 ? 9 : level);
        out->gz = gzdopen(out->fd, mode);
        if (!out->gz) {
            mz_error("%s: cannot open gzip output", path);
            close(out->fd);
            goto fail;
        }
        gzbuffer(out->gz, OUT_CHUNK);
    }
    out->buf = mz_malloc(OUT_CHUNK);
    return out;
fail:
    if (out->tmp) {
        tmp_track(out->tmp, 0);
        unlink(out->tmp);
    }
    free(out->tmp);
    free(out->dest);
    free(out->path);
    free(out);
    return NULL;
}

static int out_flush(mz_out *out)
{
    size_t done = 0;
    if (out->failed) return -1;
    if (out->gz) {
        if (out->n && gzwrite(out->gz, out->buf, (unsigned)out->n) != (int)out->n) {
            int zerr;
            const char *msg = gzerror(out->gz, &zerr);
            mz_error("%s: write error: %s", out->path, zerr == Z_ERRNO ? strerror(errno) : msg);
            out->failed = 1;
            return -1;
        }
        out->n = 0;
        return 0;
    }
    while (done < out->n) {
        ssize_t w = write(out->fd, out->buf + done, out->n - done);
        if (w < 0) {
            if (errno == EINTR) continue;
            mz_error("%s: write error: %s", out->path, strerror(errno));
            out->failed = 1;
            return -1;
        }
        done += w;
    }
    out->n = 0;
    return 0;
}

int mz_out_write(mz_out *out, const void *p, size_t n)
{
    const char *s = p;
    while (n) {
        size_t room = OUT_CHUNK - out->n, take = n < room ? n : room;
        memcpy(out->buf + out->n, s, take);
        out->n += take;
        s += take;
        n -= take;
        if (out->n == OUT_CHUNK && out_flush(out) < 0) return -1;
    }
    return out->failed ? -1 : 0;
}

int mz_out_puts(mz_out *out, const char *s) { return mz_out_write(out, s, strlen(s)); }

int mz_out_printf(mz_out *out, const char *fmt, ...)
{
    char small[1024];
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < (int)sizeof small) return mz_out_write(out, small, n);
    {
        char *big = mz_malloc(n + 1);
        int ret;
        va_start(ap, fmt);
        vsnprintf(big, n + 1, fmt, ap);
        va_end(ap);
        ret = mz_out_write(out, big, n);
        free(big);
        return ret;
    }
}

int mz_out_is_tty(const mz_out *out) { return out->tty; }

static void out_free(mz_out *out)
{
    if (out->tmp) tmp_track(out->tmp, 0);
    free(out->buf);
    free(out->tmp);
    free(out->dest);
    free(out->path);
    free(out);
}

int mz_out_close(mz_out *out)
{
    int ret = out_flush(out);
    if (out->gz) {
        int z = gzclose(out->gz);
        if (z != Z_OK && ret == 0) {
            mz_error("%s: write error: %s", out->path, z == Z_ERRNO ? strerror(errno) : "gzip close failed");
            ret = -1;
        }
    } else {
        if (close(out->fd) < 0 && ret == 0) {
            mz_error("%s: write error: %s", out->path, strerror(errno));
            ret = -1;
        }
    }
    if (out->tmp) {
        if (ret == 0 && rename(out->tmp, out->dest) < 0) {
            mz_error("%s: %s", out->path, strerror(errno));
            ret = -1;
        }
        if (ret < 0) unlink(out->tmp);
    }
    out_free(out);
    return ret;
}

void mz_out_abort(mz_out *out)
{
    if (!out) return;
    if (out->gz) {
        /* gzclose finishes the gzip stream: aim its last bytes at /dev/null,
         * not at the terminal or pipe we are abandoning */
        int nul = open("/dev/null", O_WRONLY);
        if (nul >= 0) {
            dup2(nul, out->fd);
            close(nul);
        }
        gzclose(out->gz);
    } else {
        close(out->fd);
    }
    if (out->tmp) unlink(out->tmp);
    out_free(out);
}

int mz_close_stdout(void)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        mz_error("write error on standard output: %s", strerror(errno));
        return -1;
    }
    if (fclose(stdout) != 0) {
        mz_error("write error on standard output: %s", strerror(errno));
        return -1;
    }
    return 0;
}

const char *mz_program_dir(void)
{
    static char dir[PATH_MAX];
    ssize_t n;
    if (dir[0]) return dir;
    n = readlink("/proc/self/exe", dir, sizeof dir - 1);
    if (n <= 0) return strcpy(dir, ".");
    dir[n] = '\0';
    {
        char *slash = strrchr(dir, '/');
        if (slash) *slash = '\0';
    }
    return dir;
}

static int is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

char *mz_find_data(const char *name)
{
    char path[PATH_MAX];
    const char *env = getenv("MZ_MODELS");
    /* a path is a path: used as it is, never looked up */
    if (strchr(name, '/')) {
        if (is_file(name)) return mz_strdup(name);
        mz_error("%s: no such file", name);
        return NULL;
    }
    /* a name is a catalogue name: never a file of the current directory */
    if (*name && env && *env) {
        snprintf(path, sizeof path, "%s/%s", env, name);
        if (is_file(path)) return mz_strdup(path);
    }
    if (*name) {
        snprintf(path, sizeof path, "%s/../models/%s", mz_program_dir(), name);
        if (is_file(path)) return mz_strdup(path);
        snprintf(path, sizeof path, "%s/%s", MZ_DATADIR, name);
        if (is_file(path)) return mz_strdup(path);
    }
    mz_error("%s: not found in the catalogue (models/, $MZ_MODELS or %s)%s%s", name, MZ_DATADIR,
             is_file(name) ? "; a name without '/' is a catalogue name: for the file in the current directory write ./"
                           : "",
             is_file(name) ? name : "");
    return NULL;
}

char *mz_real_path(const char *path)
{
    char buf[PATH_MAX];
    return mz_strdup(realpath(path, buf) ? buf : path);
}

/* ---- pipes and spools */
void mz_pipe_widen(int fd)
{
#ifdef F_SETPIPE_SZ
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode)) fcntl(fd, F_SETPIPE_SZ, 1 << 20);
#else
    (void)fd;
#endif
}

struct mz_spool {
    FILE *fp;
    size_t size;
    uint64_t n, got;
};

mz_spool *mz_spool_open(size_t rec_size)
{
    const char *dir = getenv("TMPDIR");
    mz_buf path = {0};
    mz_spool *s;
    int fd;
    if (!dir || !*dir) dir = "/tmp";
    mz_buf_printf(&path, "%s/mz-spool.XXXXXX", dir);
    if ((fd = mkstemp(path.s)) < 0) {
        mz_error("cannot create a temporary file in %s: %s", dir, strerror(errno));
        mz_buf_free(&path);
        return NULL;
    }
    unlink(path.s); /* anonymous: gone when closed, even after a crash */
    mz_buf_free(&path);
    s = mz_calloc(1, sizeof *s);
    s->size = rec_size;
    if (!(s->fp = fdopen(fd, "w+b"))) {
        mz_error("temporary file: %s", strerror(errno));
        close(fd);
        free(s);
        return NULL;
    }
    setvbuf(s->fp, NULL, _IOFBF, 1 << 20);
    return s;
}

int mz_spool_put(mz_spool *s, const uint8_t *rec)
{
    if (fwrite(rec, s->size, 1, s->fp) != 1) {
        mz_error("writing the temporary copy of the input: %s", strerror(errno));
        return -1;
    }
    s->n++;
    return 0;
}

int mz_spool_rewind(mz_spool *s)
{
    if (fflush(s->fp) != 0 || fseek(s->fp, 0, SEEK_SET) != 0) {
        mz_error("writing the temporary copy of the input: %s", strerror(errno));
        return -1;
    }
    s->got = 0;
    return 0;
}

int mz_spool_get(mz_spool *s, uint8_t *rec)
{
    if (s->got == s->n) return 0;
    if (fread(rec, s->size, 1, s->fp) != 1) {
        mz_error("reading the temporary copy of the input: %s", ferror(s->fp) ? strerror(errno) : "short file");
        return -1;
    }
    s->got++;
    return 1;
}

void mz_spool_close(mz_spool *s)
{
    if (!s) return;
    fclose(s->fp);
    free(s);
}
