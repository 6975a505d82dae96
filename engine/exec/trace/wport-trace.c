/*
 * wport-trace: the trace of refused accesses (docs/CONFINEMENT.md, "Trace of
 * refused accesses").
 *
 * Preloaded into every dynamically linked program a build runs (the
 * sandbox's own /etc/ld.so.preload names it; no environment variable is
 * set). Each wrapped libc file-system call is passed on unchanged; when it
 * fails with ENOENT, EACCES, EPERM or EROFS, one record (operation, errno,
 * the process's name, the absolute path as the build saw it) is written to
 * the FIFO /.wport/trace, whose other end the session init reads. The host
 * decides afterwards which records were refusals by the confinement.
 *
 * This is a report, not a wall: static binaries and raw syscalls bypass it,
 * and a build can forge records (the FIFO is writable to it) or run its
 * programs so that they never load this library. The kernel walls stand
 * without it.
 *
 * Constraints: the wrappers may run in a vfork child or a signal handler, so
 * recording uses only the stack and raw syscalls (no malloc, no stdio, no
 * locks), keeps errno as the real call left it, and never changes a result.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/types.h>
#include <unistd.h>
#include <utime.h>

#define TRACE_FIFO "/.wport/trace"
/* First byte of every record (engine/exec/src/trace.rs: MAGIC). */
#define MAGIC 0xA7
/* A record fits one atomic pipe write (PIPE_BUF is 4096). */
#define PATH_CAP 3900
#define COMM_CAP 64

/* Operation codes (engine/exec/src/trace.rs: TraceOp::from_byte). */
enum {
    OP_READ = 1,
    OP_WRITE,
    OP_STAT,
    OP_ACCESS,
    OP_EXEC,
    OP_CHDIR,
    OP_LIST,
    OP_MKDIR,
    OP_RMDIR,
    OP_UNLINK,
    OP_RENAME,
    OP_LINK,
    OP_SYMLINK,
    OP_CHMOD,
    OP_CHOWN,
    OP_TRUNCATE,
    OP_UTIME,
    OP_MKNOD,
};

static int under(const char *p, const char *dir)
{
    size_t n = strlen(dir);
    return strncmp(p, dir, n) == 0 && (p[n] == '/' || p[n] == 0);
}

/* Pseudo file systems and wport's own directory: never reported. */
static const char *const PSEUDO[] = {"/proc", "/sys", "/dev", "/.wport", 0};
/* Where ENOENT is never reported as a hidden path: the build's own
 * directories, the toolchain (bound whole: missing there is missing on the
 * host; configure probes and PATH searches), and /etc (generated; the rest
 * of the host's is absent by design, and every coreutils program probes
 * /etc/selinux/config). */
static const char *const NOT_HIDDEN[] = {
    "/work", "/sources", "/destroot", "/tmp", "/usr", "/bin",
    "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", 0,
};

static int under_any(const char *p, const char *const *dirs)
{
    for (; *dirs; dirs++)
        if (under(p, *dirs))
            return 1;
    return 0;
}

/* Fold `.` and repeated slashes of an absolute path, in place. `..` stays:
 * folding it by name would blame the wrong path when a component before it
 * is a link or is missing (the host resolves it when it checks the path). */
static void normalize(char *p)
{
    char *out = p + 1;
    const char *in = p + 1;
    for (;;) {
        const char *end = in;
        while (*end && *end != '/')
            end++;
        size_t len = (size_t)(end - in);
        int last = *end == 0;
        if (len != 0 && !(len == 1 && in[0] == '.')) {
            memmove(out, in, len);
            out += len;
            *out++ = '/'; /* may overwrite *end: `last` was read first */
        }
        if (last)
            break;
        in = end + 1;
    }
    if (out > p + 1)
        out--;
    *out = 0;
}

/* `in` with `..` folded by name, into `out` (as long as `in`): only to
 * decide which area a path is in, never to report it. */
static void fold(const char *in, char *out)
{
    size_t n = 0;
    while (*in) {
        while (*in == '/')
            in++;
        const char *end = in;
        while (*end && *end != '/')
            end++;
        size_t len = (size_t)(end - in);
        if (len == 2 && in[0] == '.' && in[1] == '.') {
            while (n > 0 && out[n - 1] != '/')
                n--;
            if (n > 0)
                n--;
        } else if (len > 0 && !(len == 1 && in[0] == '.')) {
            out[n++] = '/';
            memcpy(out + n, in, len);
            n += len;
        }
        in = end;
    }
    if (n == 0)
        out[n++] = '/';
    out[n] = 0;
}

/* The absolute path of `path` relative to `dirfd`, into buf; 0 on failure. */
static int absolute(int dirfd, const char *path, char *buf, size_t size)
{
    size_t n = 0;
    if (path[0] != '/') {
        long r;
        if (dirfd == AT_FDCWD) {
            r = syscall(SYS_getcwd, buf, size);
            if (r <= 0)
                return 0;
            n = strlen(buf);
        } else {
            char link[32];
            int m = 0;
            const char *pre = "/proc/self/fd/";
            while (pre[m]) {
                link[m] = pre[m];
                m++;
            }
            char digits[12];
            int d = 0;
            unsigned v = (unsigned)dirfd;
            do {
                digits[d++] = (char)('0' + v % 10);
                v /= 10;
            } while (v && d < 11);
            while (d)
                link[m++] = digits[--d];
            link[m] = 0;
            r = syscall(SYS_readlinkat, AT_FDCWD, link, buf, size - 1);
            if (r <= 0 || buf[0] != '/')
                return 0;
            n = (size_t)r;
            buf[n] = 0;
        }
        if (n + 1 + strlen(path) + 1 > size)
            return 0;
        buf[n++] = '/';
    }
    size_t len = strlen(path);
    if (n + len + 1 > size)
        return 0;
    memcpy(buf + n, path, len + 1);
    normalize(buf);
    return 1;
}

static void note(int op, int dirfd, const char *path, int err)
{
    if (err != ENOENT && err != EACCES && err != EPERM && err != EROFS)
        return;
    if (!path || !path[0])
        return;
    char abs[PATH_CAP + 1];
    if (!absolute(dirfd, path, abs, sizeof abs))
        return;
    char area[PATH_CAP + 1];
    fold(abs, area);
    if (under_any(area, PSEUDO))
        return;
    if (err == ENOENT && under_any(area, NOT_HIDDEN))
        return;
    unsigned char rec[8 + COMM_CAP + PATH_CAP];
    size_t n = 0;
    rec[n++] = MAGIC;
    rec[n++] = (unsigned char)op;
    rec[n++] = (unsigned char)(err & 0xff);
    rec[n++] = (unsigned char)((err >> 8) & 0xff);
    const char *comm = program_invocation_short_name;
    size_t clen = comm ? strlen(comm) : 0;
    if (clen > COMM_CAP)
        clen = COMM_CAP;
    rec[n++] = (unsigned char)clen;
    memcpy(rec + n, comm, clen);
    n += clen;
    size_t plen = strlen(abs);
    rec[n++] = (unsigned char)(plen & 0xff);
    rec[n++] = (unsigned char)((plen >> 8) & 0xff);
    memcpy(rec + n, abs, plen);
    n += plen;
    long fd = syscall(SYS_openat, AT_FDCWD, TRACE_FIFO, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return;
    syscall(SYS_write, (int)fd, rec, n);
    syscall(SYS_close, (int)fd);
}

/* Pass the call on, then record a failure, keeping the call's errno. */
#define RECORD(op, dirfd, path, failed)                                                            \
    do {                                                                                           \
        if (failed) {                                                                              \
            int saved_ = errno;                                                                    \
            note((op), (dirfd), (path), saved_);                                                   \
            errno = saved_;                                                                        \
        }                                                                                          \
    } while (0)

/* The next definition of `name` (libc's), looked up once. */
#define REAL(type, name, fail)                                                                     \
    static __typeof__(type) real_;                                                                 \
    __typeof__(type) next_ = __atomic_load_n(&real_, __ATOMIC_RELAXED);                            \
    if (!next_) {                                                                                  \
        next_ = (type)dlsym(RTLD_NEXT, name);                                                      \
        if (!next_) {                                                                              \
            errno = ENOSYS;                                                                        \
            return fail;                                                                           \
        }                                                                                          \
        __atomic_store_n(&real_, next_, __ATOMIC_RELAXED);                                         \
    }

static int open_op(int flags)
{
    return ((flags & O_ACCMODE) != O_RDONLY || (flags & (O_CREAT | O_TRUNC))) ? OP_WRITE : OP_READ;
}

static int needs_mode(int flags)
{
    return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE;
}

#define OPEN_LIKE(name)                                                                            \
    int name(const char *path, int flags, ...)                                                     \
    {                                                                                              \
        unsigned mode = 0;                                                                         \
        if (needs_mode(flags)) {                                                                   \
            va_list ap;                                                                            \
            va_start(ap, flags);                                                                   \
            mode = va_arg(ap, unsigned);                                                           \
            va_end(ap);                                                                            \
        }                                                                                          \
        REAL(int (*)(const char *, int, ...), #name, -1)                                           \
        int r = next_(path, flags, mode);                                                          \
        RECORD(open_op(flags), AT_FDCWD, path, r < 0);                                             \
        return r;                                                                                  \
    }
OPEN_LIKE(open)
OPEN_LIKE(open64)

#define OPENAT_LIKE(name)                                                                          \
    int name(int dirfd, const char *path, int flags, ...)                                          \
    {                                                                                              \
        unsigned mode = 0;                                                                         \
        if (needs_mode(flags)) {                                                                   \
            va_list ap;                                                                            \
            va_start(ap, flags);                                                                   \
            mode = va_arg(ap, unsigned);                                                           \
            va_end(ap);                                                                            \
        }                                                                                          \
        REAL(int (*)(int, const char *, int, ...), #name, -1)                                      \
        int r = next_(dirfd, path, flags, mode);                                                   \
        RECORD(open_op(flags), dirfd, path, r < 0);                                                \
        return r;                                                                                  \
    }
OPENAT_LIKE(openat)
OPENAT_LIKE(openat64)

/* _FORTIFY_SOURCE's checked variants (no mode argument). */
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);
#define OPEN2_LIKE(name)                                                                           \
    int name(const char *path, int flags)                                                          \
    {                                                                                              \
        REAL(int (*)(const char *, int), #name, -1)                                                \
        int r = next_(path, flags);                                                                \
        RECORD(open_op(flags), AT_FDCWD, path, r < 0);                                             \
        return r;                                                                                  \
    }
OPEN2_LIKE(__open_2)
OPEN2_LIKE(__open64_2)
#define OPENAT2_LIKE(name)                                                                         \
    int name(int dirfd, const char *path, int flags)                                               \
    {                                                                                              \
        REAL(int (*)(int, const char *, int), #name, -1)                                           \
        int r = next_(dirfd, path, flags);                                                         \
        RECORD(open_op(flags), dirfd, path, r < 0);                                                \
        return r;                                                                                  \
    }
OPENAT2_LIKE(__openat_2)
OPENAT2_LIKE(__openat64_2)

#define CREAT_LIKE(name)                                                                           \
    int name(const char *path, mode_t mode)                                                        \
    {                                                                                              \
        REAL(int (*)(const char *, mode_t), #name, -1)                                             \
        int r = next_(path, mode);                                                                 \
        RECORD(OP_WRITE, AT_FDCWD, path, r < 0);                                                   \
        return r;                                                                                  \
    }
CREAT_LIKE(creat)
CREAT_LIKE(creat64)

static int fopen_op(const char *mode)
{
    return (mode && mode[0] == 'r' && !strchr(mode, '+')) ? OP_READ : OP_WRITE;
}

#define FOPEN_LIKE(name)                                                                           \
    FILE *name(const char *path, const char *mode)                                                 \
    {                                                                                              \
        REAL(FILE * (*)(const char *, const char *), #name, NULL)                                  \
        FILE *f = next_(path, mode);                                                               \
        RECORD(fopen_op(mode), AT_FDCWD, path, f == NULL);                                         \
        return f;                                                                                  \
    }
FOPEN_LIKE(fopen)
FOPEN_LIKE(fopen64)

#define FREOPEN_LIKE(name)                                                                         \
    FILE *name(const char *path, const char *mode, FILE *stream)                                   \
    {                                                                                              \
        REAL(FILE * (*)(const char *, const char *, FILE *), #name, NULL)                          \
        FILE *f = next_(path, mode, stream);                                                       \
        RECORD(fopen_op(mode), AT_FDCWD, path, f == NULL);                                         \
        return f;                                                                                  \
    }
FREOPEN_LIKE(freopen)
FREOPEN_LIKE(freopen64)

DIR *opendir(const char *path)
{
    REAL(DIR * (*)(const char *), "opendir", NULL)
    DIR *d = next_(path);
    RECORD(OP_LIST, AT_FDCWD, path, d == NULL);
    return d;
}

/* A call on one path: (path, args...) -> int. */
#define PATH_CALL(op, name, params, args, ...)                                                     \
    int name(const char *path __VA_OPT__(, ) __VA_ARGS__)                                          \
    {                                                                                              \
        REAL(int (*) params, #name, -1)                                                            \
        int r = next_ args;                                                                        \
        RECORD(op, AT_FDCWD, path, r < 0);                                                         \
        return r;                                                                                  \
    }
/* A call on one path relative to a directory: (dirfd, path, args...) -> int. */
#define AT_CALL(op, name, params, args, ...)                                                       \
    int name(int dirfd, const char *path __VA_OPT__(, ) __VA_ARGS__)                               \
    {                                                                                              \
        REAL(int (*) params, #name, -1)                                                            \
        int r = next_ args;                                                                        \
        RECORD(op, dirfd, path, r < 0);                                                            \
        return r;                                                                                  \
    }

PATH_CALL(OP_STAT, stat, (const char *, struct stat *), (path, buf), struct stat *buf)
PATH_CALL(OP_STAT, stat64, (const char *, struct stat64 *), (path, buf), struct stat64 *buf)
PATH_CALL(OP_STAT, lstat, (const char *, struct stat *), (path, buf), struct stat *buf)
PATH_CALL(OP_STAT, lstat64, (const char *, struct stat64 *), (path, buf), struct stat64 *buf)
AT_CALL(OP_STAT, fstatat, (int, const char *, struct stat *, int), (dirfd, path, buf, flags),
        struct stat *buf, int flags)
AT_CALL(OP_STAT, fstatat64, (int, const char *, struct stat64 *, int),
        (dirfd, path, buf, flags), struct stat64 *buf, int flags)
AT_CALL(OP_STAT, statx, (int, const char *, int, unsigned, struct statx *),
        (dirfd, path, flags, mask, buf), int flags, unsigned mask, struct statx *buf)

PATH_CALL(OP_ACCESS, access, (const char *, int), (path, mode), int mode)
PATH_CALL(OP_ACCESS, euidaccess, (const char *, int), (path, mode), int mode)
PATH_CALL(OP_ACCESS, eaccess, (const char *, int), (path, mode), int mode)
AT_CALL(OP_ACCESS, faccessat, (int, const char *, int, int), (dirfd, path, mode, flags), int mode,
        int flags)

PATH_CALL(OP_EXEC, execve, (const char *, char *const[], char *const[]), (path, argv, envp),
          char *const argv[], char *const envp[])
PATH_CALL(OP_CHDIR, chdir, (const char *), (path))

PATH_CALL(OP_MKDIR, mkdir, (const char *, mode_t), (path, mode), mode_t mode)
AT_CALL(OP_MKDIR, mkdirat, (int, const char *, mode_t), (dirfd, path, mode), mode_t mode)
PATH_CALL(OP_RMDIR, rmdir, (const char *), (path))
PATH_CALL(OP_UNLINK, unlink, (const char *), (path))

int unlinkat(int dirfd, const char *path, int flags)
{
    REAL(int (*)(int, const char *, int), "unlinkat", -1)
    int r = next_(dirfd, path, flags);
    RECORD((flags & AT_REMOVEDIR) ? OP_RMDIR : OP_UNLINK, dirfd, path, r < 0);
    return r;
}

/* Two paths: a missing source is the one to report, otherwise the target
 * (a read-only or hidden destination). */
static void note_pair(int op, int olddirfd, const char *oldpath, int newdirfd,
                      const char *newpath, int err)
{
    if (err == ENOENT) {
        /* The source is missing in the view, or the target's directory. */
        struct stat st;
        if (oldpath && syscall(SYS_newfstatat, olddirfd, oldpath, &st, AT_SYMLINK_NOFOLLOW) < 0)
            note(op, olddirfd, oldpath, err);
        else
            note(op, newdirfd, newpath, err);
    } else {
        note(op, newdirfd, newpath, err);
    }
}

#define RECORD_PAIR(op, od, op_, nd, np, failed)                                                   \
    do {                                                                                           \
        if (failed) {                                                                              \
            int saved_ = errno;                                                                    \
            note_pair((op), (od), (op_), (nd), (np), saved_);                                      \
            errno = saved_;                                                                        \
        }                                                                                          \
    } while (0)

int rename(const char *oldpath, const char *newpath)
{
    REAL(int (*)(const char *, const char *), "rename", -1)
    int r = next_(oldpath, newpath);
    RECORD_PAIR(OP_RENAME, AT_FDCWD, oldpath, AT_FDCWD, newpath, r < 0);
    return r;
}

int renameat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath)
{
    REAL(int (*)(int, const char *, int, const char *), "renameat", -1)
    int r = next_(olddirfd, oldpath, newdirfd, newpath);
    RECORD_PAIR(OP_RENAME, olddirfd, oldpath, newdirfd, newpath, r < 0);
    return r;
}

int renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath,
              unsigned flags)
{
    REAL(int (*)(int, const char *, int, const char *, unsigned), "renameat2", -1)
    int r = next_(olddirfd, oldpath, newdirfd, newpath, flags);
    RECORD_PAIR(OP_RENAME, olddirfd, oldpath, newdirfd, newpath, r < 0);
    return r;
}

int link(const char *oldpath, const char *newpath)
{
    REAL(int (*)(const char *, const char *), "link", -1)
    int r = next_(oldpath, newpath);
    RECORD_PAIR(OP_LINK, AT_FDCWD, oldpath, AT_FDCWD, newpath, r < 0);
    return r;
}

int linkat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, int flags)
{
    REAL(int (*)(int, const char *, int, const char *, int), "linkat", -1)
    int r = next_(olddirfd, oldpath, newdirfd, newpath, flags);
    RECORD_PAIR(OP_LINK, olddirfd, oldpath, newdirfd, newpath, r < 0);
    return r;
}

/* A symlink's target is not accessed: only the new link's path counts. */
int symlink(const char *target, const char *linkpath)
{
    REAL(int (*)(const char *, const char *), "symlink", -1)
    int r = next_(target, linkpath);
    RECORD(OP_SYMLINK, AT_FDCWD, linkpath, r < 0);
    return r;
}

int symlinkat(const char *target, int dirfd, const char *linkpath)
{
    REAL(int (*)(const char *, int, const char *), "symlinkat", -1)
    int r = next_(target, dirfd, linkpath);
    RECORD(OP_SYMLINK, dirfd, linkpath, r < 0);
    return r;
}

PATH_CALL(OP_CHMOD, chmod, (const char *, mode_t), (path, mode), mode_t mode)
AT_CALL(OP_CHMOD, fchmodat, (int, const char *, mode_t, int), (dirfd, path, mode, flags),
        mode_t mode, int flags)
PATH_CALL(OP_CHOWN, chown, (const char *, uid_t, gid_t), (path, owner, group), uid_t owner,
          gid_t group)
PATH_CALL(OP_CHOWN, lchown, (const char *, uid_t, gid_t), (path, owner, group), uid_t owner,
          gid_t group)
AT_CALL(OP_CHOWN, fchownat, (int, const char *, uid_t, gid_t, int),
        (dirfd, path, owner, group, flags), uid_t owner, gid_t group, int flags)
PATH_CALL(OP_TRUNCATE, truncate, (const char *, off_t), (path, length), off_t length)
PATH_CALL(OP_TRUNCATE, truncate64, (const char *, off64_t), (path, length), off64_t length)
PATH_CALL(OP_UTIME, utime, (const char *, const struct utimbuf *), (path, times),
          const struct utimbuf *times)
PATH_CALL(OP_UTIME, utimes, (const char *, const struct timeval *), (path, times),
          const struct timeval times[2])
AT_CALL(OP_UTIME, utimensat, (int, const char *, const struct timespec *, int),
        (dirfd, path, times, flags), const struct timespec times[2], int flags)
PATH_CALL(OP_MKNOD, mknod, (const char *, mode_t, dev_t), (path, mode, dev), mode_t mode, dev_t dev)
AT_CALL(OP_MKNOD, mknodat, (int, const char *, mode_t, dev_t), (dirfd, path, mode, dev),
        mode_t mode, dev_t dev)
PATH_CALL(OP_MKNOD, mkfifo, (const char *, mode_t), (path, mode), mode_t mode)
AT_CALL(OP_MKNOD, mkfifoat, (int, const char *, mode_t), (dirfd, path, mode), mode_t mode)
