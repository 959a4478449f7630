/*
 * faultvfs: a SQLite VFS for memoryd's reliability tests (RELIABILITY.md R2, R4, R6).
 *
 * It wraps the default "unix" VFS of the libsqlite3 it is linked against and,
 * registered as the default VFS (faultvfs_register(config, 1)), serves every
 * connection the process opens afterwards, Python's stdlib sqlite3 included.
 *
 * Power-loss mode ("buffer=1"): every xWrite and xTruncate of a database,
 * rollback journal or WAL file is kept in memory (4 KiB chunks, shared by
 * every handle of one path in the process, as a page cache is) and reaches
 * the real file only at that file's xSync. A kill -9 therefore drops exactly
 * the data that was never synced, as a power cut drops a dirty page cache.
 * "writeback=P" (0..1): at each buffered write, with probability P, one
 * random dirty chunk is also written through early (the kernel flushing
 * pages in its own order), so a crash leaves an arbitrary subset of the
 * unsynced chunks on disk, torn at 4 KiB boundaries. The -shm file is not
 * buffered (it is shared memory); a test models its loss by deleting it.
 * Directory entries (create, unlink, rename) are not modelled.
 *
 * Fault mode: "fail=sync" makes every later xSync fail with
 * SQLITE_IOERR_FSYNC, "fail=write" every later xWrite with
 * SQLITE_IOERR_WRITE ("fail=sync,write" both, "fail=none" stops), after
 * "after=N" more calls succeed. With "drop=1" and buffering, a failed xSync
 * also discards the file's unsynced data, as Linux marks the dirty pages
 * clean after a writeback error (PostgreSQL's "fsyncgate"): a retried fsync
 * then succeeds and the data is gone.
 *
 * Configuration is a string of key=value pairs separated by ';':
 *   buffer=0|1  writeback=P  seed=N  fail=sync,write|none  after=N  drop=0|1
 *   control=PATH  a file re-read whenever it changes (checked at each
 *                 xSync/xWrite); it holds more pairs, e.g. "fail=sync"
 *   log=PATH      appends one line per event: "fault sync PATH",
 *                 "fault write PATH", "sync N PATH" (N counts completed
 *                 syncs of WAL files, see faultvfs_stat("wal_syncs"))
 *
 * Only files SQLite names (main databases, journals, WALs) are buffered or
 * failed; temporary files pass through untouched.
 */
#include <sqlite3.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHUNK 4096
#define FILE_KINDS (SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_MAIN_JOURNAL | SQLITE_OPEN_WAL | \
                    SQLITE_OPEN_SUPER_JOURNAL)

typedef sqlite3_int64 i64;

/* Buffered state of one path: the "page cache" of that file. */
typedef struct Shared {
  char *path;
  int nref;
  i64 size;             /* logical size in bytes */
  i64 clip;             /* real bytes at or past this offset are logically gone; -1: none */
  unsigned char **chunk;/* chunk[i] holds logical bytes [i*CHUNK, (i+1)*CHUNK) */
  i64 nchunk;           /* capacity of chunk[] */
  i64 ndirty;           /* chunks present */
  struct Shared *next;
} Shared;

typedef struct FvFile {
  sqlite3_file base;
  sqlite3_file *real;
  Shared *sh;           /* NULL: not buffered */
  int named;            /* a database, journal or WAL file: faults apply */
  int wal;
  char *path;
} FvFile;

static struct {
  sqlite3_vfs vfs;
  sqlite3_vfs *unix_vfs;
  pthread_mutex_t mu;
  int registered;
  int buffer, drop, fail_sync, fail_write;
  i64 after;            /* calls that still succeed before faults start; 0: at once */
  double writeback;
  unsigned long long rng;
  char control[4096], log[4096];
  struct timespec control_mtime;
  off_t control_size;
  Shared *shared;
  i64 syncs, wal_syncs, faults, buffered_writes, early_writebacks, dropped_chunks;
} g = {.mu = PTHREAD_MUTEX_INITIALIZER, .rng = 88172645463325252ULL};

static const sqlite3_io_methods fv_methods;

/* ---------------------------------------------------------------- config */
static double next_random(void) { /* xorshift64*, for writeback choices */
  g.rng ^= g.rng >> 12;
  g.rng ^= g.rng << 25;
  g.rng ^= g.rng >> 27;
  return (double)((g.rng * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

static void apply_pair(const char *key, const char *val) {
  if (!strcmp(key, "buffer")) g.buffer = atoi(val);
  else if (!strcmp(key, "drop")) g.drop = atoi(val);
  else if (!strcmp(key, "writeback")) g.writeback = atof(val);
  else if (!strcmp(key, "seed")) g.rng = strtoull(val, NULL, 10) * 2654435761ULL + 1;
  else if (!strcmp(key, "after")) g.after = strtoll(val, NULL, 10);
  else if (!strcmp(key, "control")) snprintf(g.control, sizeof g.control, "%s", val);
  else if (!strcmp(key, "log")) snprintf(g.log, sizeof g.log, "%s", val);
  else if (!strcmp(key, "fail")) {
    g.fail_sync = strstr(val, "sync") != NULL;
    g.fail_write = strstr(val, "write") != NULL;
  }
}

static void apply_config(const char *config) { /* "k=v;k=v" or newline separated */
  char buf[8192];
  snprintf(buf, sizeof buf, "%s", config ? config : "");
  char *save = NULL;
  for (char *tok = strtok_r(buf, ";\n", &save); tok; tok = strtok_r(NULL, ";\n", &save)) {
    while (*tok == ' ') tok++;
    char *eq = strchr(tok, '=');
    if (!eq) continue;
    *eq = 0;
    char *val = eq + 1, *end = val + strlen(val);
    while (end > val && (end[-1] == ' ' || end[-1] == '\r')) *--end = 0;
    apply_pair(tok, val);
  }
}

static void poll_control(void) { /* caller holds g.mu */
  struct stat st;
  if (!g.control[0] || stat(g.control, &st) != 0) return;
  if (st.st_mtim.tv_sec == g.control_mtime.tv_sec &&
      st.st_mtim.tv_nsec == g.control_mtime.tv_nsec && st.st_size == g.control_size)
    return;
  g.control_mtime = st.st_mtim;
  g.control_size = st.st_size;
  FILE *fh = fopen(g.control, "r");
  if (!fh) return;
  char buf[4096];
  size_t n = fread(buf, 1, sizeof buf - 1, fh);
  fclose(fh);
  buf[n] = 0;
  apply_config(buf);
}

static void log_event(const char *what, i64 n, const char *path) { /* caller holds g.mu */
  if (!g.log[0]) return;
  char line[4200];
  int len = n >= 0 ? snprintf(line, sizeof line, "%s %lld %s\n", what, (long long)n, path)
                   : snprintf(line, sizeof line, "%s %s\n", what, path);
  int fd = open(g.log, O_WRONLY | O_CREAT | O_APPEND, 0600);
  if (fd < 0) return;
  ssize_t wrote = write(fd, line, (size_t)len);
  (void)wrote;
  close(fd);
}

/* True when this call must fail (and counts/logs the fault). Caller holds g.mu. */
static int inject(int armed, const char *what, const char *path) {
  if (!armed) return 0;
  if (g.after > 0) {
    g.after--;
    return 0;
  }
  g.faults++;
  log_event(what, -1, path);
  return 1;
}

/* ---------------------------------------------------------------- buffered state */
static Shared *shared_for(const char *path, sqlite3_file *real) {
  for (Shared *s = g.shared; s; s = s->next)
    if (!strcmp(s->path, path)) return s;
  Shared *s = calloc(1, sizeof *s);
  if (!s) return NULL;
  s->path = strdup(path);
  s->clip = -1;
  if (real->pMethods->xFileSize(real, &s->size) != SQLITE_OK) s->size = 0;
  s->next = g.shared;
  g.shared = s;
  return s;
}

/* Free the chunks at index >= from; ``lost``: unsynced data discarded (counted). */
static void drop_chunks(Shared *s, i64 from, int lost) {
  for (i64 i = from; i < s->nchunk; i++) {
    if (s->chunk[i]) {
      free(s->chunk[i]);
      s->chunk[i] = NULL;
      s->ndirty--;
      g.dropped_chunks += lost;
    }
  }
}

static void forget_shared(Shared *s) {
  Shared **pp = &g.shared;
  while (*pp && *pp != s) pp = &(*pp)->next;
  if (*pp) *pp = s->next;
  drop_chunks(s, 0, 0);
  free(s->chunk);
  free(s->path);
  free(s);
}

/* Bytes [off, off+n) of the real file as they logically stand: zero past clip or EOF. */
static int read_real(FvFile *f, unsigned char *out, i64 off, int n) {
  Shared *s = f->sh;
  int rc = f->real->pMethods->xRead(f->real, out, n, off);
  if (rc == SQLITE_IOERR_SHORT_READ) rc = SQLITE_OK; /* zero-filled by the unix VFS */
  if (rc != SQLITE_OK) return rc;
  if (s->clip >= 0 && off + n > s->clip) {
    i64 from = s->clip > off ? s->clip - off : 0;
    memset(out + from, 0, (size_t)(n - from));
  }
  return SQLITE_OK;
}

static unsigned char *chunk_at(FvFile *f, i64 i, int *rc) {
  Shared *s = f->sh;
  if (i >= s->nchunk) {
    i64 cap = s->nchunk ? s->nchunk : 64;
    while (cap <= i) cap *= 2;
    unsigned char **grown = realloc(s->chunk, (size_t)cap * sizeof *grown);
    if (!grown) { *rc = SQLITE_NOMEM; return NULL; }
    memset(grown + s->nchunk, 0, (size_t)(cap - s->nchunk) * sizeof *grown);
    s->chunk = grown;
    s->nchunk = cap;
  }
  if (!s->chunk[i]) {
    unsigned char *c = calloc(1, CHUNK);
    if (!c) { *rc = SQLITE_NOMEM; return NULL; }
    i64 base = i * CHUNK;
    if (base < s->size) {
      int n = (int)(s->size - base < CHUNK ? s->size - base : CHUNK);
      *rc = read_real(f, c, base, n);
      if (*rc != SQLITE_OK) { free(c); return NULL; }
    }
    s->chunk[i] = c;
    s->ndirty++;
  }
  return s->chunk[i];
}

static int write_chunk_through(FvFile *f, i64 i) {
  Shared *s = f->sh;
  i64 base = i * CHUNK;
  if (base >= s->size) return SQLITE_OK;
  int n = (int)(s->size - base < CHUNK ? s->size - base : CHUNK);
  return f->real->pMethods->xWrite(f->real, s->chunk[i], n, base);
}

static void early_writeback(FvFile *f) {
  Shared *s = f->sh;
  if (g.writeback <= 0 || s->clip >= 0 || s->ndirty == 0 || next_random() >= g.writeback) return;
  i64 pick = (i64)(next_random() * (double)s->ndirty), seen = 0;
  for (i64 i = 0; i < s->nchunk; i++) {
    if (s->chunk[i] && seen++ == pick) {
      if (write_chunk_through(f, i) == SQLITE_OK) g.early_writebacks++;
      return;
    }
  }
}

/* Write everything buffered for this path to the real file (before its fsync). */
static int flush_shared(FvFile *f) {
  Shared *s = f->sh;
  i64 real_size = 0;
  int rc = f->real->pMethods->xFileSize(f->real, &real_size);
  if (rc == SQLITE_OK && s->clip >= 0 && s->clip < real_size)
    rc = f->real->pMethods->xTruncate(f->real, s->clip);
  for (i64 i = 0; rc == SQLITE_OK && i < s->nchunk; i++)
    if (s->chunk[i]) rc = write_chunk_through(f, i);
  if (rc == SQLITE_OK) rc = f->real->pMethods->xFileSize(f->real, &real_size);
  if (rc == SQLITE_OK && real_size != s->size) rc = f->real->pMethods->xTruncate(f->real, s->size);
  if (rc != SQLITE_OK) return rc;
  drop_chunks(s, 0, 0);
  s->clip = -1;
  return SQLITE_OK;
}

/* fsyncgate: the unsynced data of this path is gone; the real file is what stands. */
static void discard_shared(FvFile *f) {
  Shared *s = f->sh;
  drop_chunks(s, 0, 1);
  s->clip = -1;
  if (f->real->pMethods->xFileSize(f->real, &s->size) != SQLITE_OK) s->size = 0;
}

/* ---------------------------------------------------------------- io methods */
static int fv_close(sqlite3_file *pf) {
  FvFile *f = (FvFile *)pf;
  int rc = f->real->pMethods ? f->real->pMethods->xClose(f->real) : SQLITE_OK;
  pthread_mutex_lock(&g.mu);
  if (f->sh) {
    f->sh->nref--;
    if (f->sh->nref == 0 && f->sh->ndirty == 0 && f->sh->clip < 0) forget_shared(f->sh);
  }
  pthread_mutex_unlock(&g.mu);
  free(f->path);
  return rc;
}

static int fv_read(sqlite3_file *pf, void *out, int amt, i64 off) {
  FvFile *f = (FvFile *)pf;
  if (!f->sh) return f->real->pMethods->xRead(f->real, out, amt, off);
  pthread_mutex_lock(&g.mu);
  Shared *s = f->sh;
  unsigned char *dst = out;
  int rc = SQLITE_OK, short_read = 0;
  i64 pos = off, end = off + amt;
  if (end > s->size) {
    short_read = 1;
    memset(dst + (s->size > off ? s->size - off : 0), 0,
           (size_t)(end - (s->size > off ? s->size : off)));
    end = s->size > off ? s->size : off;
  }
  while (rc == SQLITE_OK && pos < end) {
    i64 i = pos / CHUNK, next = (i + 1) * CHUNK < end ? (i + 1) * CHUNK : end;
    if (i < s->nchunk && s->chunk[i]) {
      memcpy(dst + (pos - off), s->chunk[i] + (pos - i * CHUNK), (size_t)(next - pos));
    } else { /* merge the run of chunks not buffered into one real read */
      while (next < end && !(next / CHUNK < s->nchunk && s->chunk[next / CHUNK]))
        next = (next / CHUNK + 1) * CHUNK < end ? (next / CHUNK + 1) * CHUNK : end;
      rc = read_real(f, dst + (pos - off), pos, (int)(next - pos));
    }
    pos = next;
  }
  pthread_mutex_unlock(&g.mu);
  if (rc != SQLITE_OK) return rc;
  return short_read ? SQLITE_IOERR_SHORT_READ : SQLITE_OK;
}

static int fv_write(sqlite3_file *pf, const void *data, int amt, i64 off) {
  FvFile *f = (FvFile *)pf;
  pthread_mutex_lock(&g.mu);
  poll_control();
  if (f->named && inject(g.fail_write, "fault write", f->path)) {
    pthread_mutex_unlock(&g.mu);
    return SQLITE_IOERR_WRITE;
  }
  if (!f->sh) {
    pthread_mutex_unlock(&g.mu);
    return f->real->pMethods->xWrite(f->real, data, amt, off);
  }
  Shared *s = f->sh;
  const unsigned char *src = data;
  int rc = SQLITE_OK;
  for (i64 pos = off, end = off + amt; rc == SQLITE_OK && pos < end;) {
    i64 i = pos / CHUNK, next = (i + 1) * CHUNK < end ? (i + 1) * CHUNK : end;
    unsigned char *c = chunk_at(f, i, &rc);
    if (c) memcpy(c + (pos - i * CHUNK), src + (pos - off), (size_t)(next - pos));
    pos = next;
  }
  if (rc == SQLITE_OK) {
    if (off + amt > s->size) s->size = off + amt;
    g.buffered_writes++;
    early_writeback(f);
  }
  pthread_mutex_unlock(&g.mu);
  return rc;
}

static int fv_truncate(sqlite3_file *pf, i64 size) {
  FvFile *f = (FvFile *)pf;
  if (!f->sh) return f->real->pMethods->xTruncate(f->real, size);
  pthread_mutex_lock(&g.mu);
  Shared *s = f->sh;
  i64 keep = (size + CHUNK - 1) / CHUNK;
  drop_chunks(s, keep, 0);
  if (size % CHUNK && keep - 1 < s->nchunk && s->chunk[keep - 1])
    memset(s->chunk[keep - 1] + size % CHUNK, 0, (size_t)(CHUNK - size % CHUNK));
  if (size < s->size && (s->clip < 0 || size < s->clip)) s->clip = size;
  s->size = size;
  pthread_mutex_unlock(&g.mu);
  return SQLITE_OK;
}

static int fv_sync(sqlite3_file *pf, int flags) {
  FvFile *f = (FvFile *)pf;
  pthread_mutex_lock(&g.mu);
  poll_control();
  if (f->named && inject(g.fail_sync, "fault sync", f->path)) {
    if (f->sh && g.drop) discard_shared(f);
    pthread_mutex_unlock(&g.mu);
    return SQLITE_IOERR_FSYNC;
  }
  int rc = f->sh ? flush_shared(f) : SQLITE_OK;
  pthread_mutex_unlock(&g.mu);
  if (rc == SQLITE_OK) rc = f->real->pMethods->xSync(f->real, flags);
  if (rc == SQLITE_OK && f->named) {
    pthread_mutex_lock(&g.mu);
    g.syncs++;
    if (f->wal) log_event("sync", ++g.wal_syncs, f->path);
    pthread_mutex_unlock(&g.mu);
  }
  return rc;
}

static int fv_file_size(sqlite3_file *pf, i64 *size) {
  FvFile *f = (FvFile *)pf;
  if (!f->sh) return f->real->pMethods->xFileSize(f->real, size);
  pthread_mutex_lock(&g.mu);
  *size = f->sh->size;
  pthread_mutex_unlock(&g.mu);
  return SQLITE_OK;
}

static int fv_lock(sqlite3_file *pf, int level) {
  FvFile *f = (FvFile *)pf;
  return f->real->pMethods->xLock(f->real, level);
}

static int fv_unlock(sqlite3_file *pf, int level) {
  FvFile *f = (FvFile *)pf;
  return f->real->pMethods->xUnlock(f->real, level);
}

static int fv_check_reserved(sqlite3_file *pf, int *out) {
  FvFile *f = (FvFile *)pf;
  return f->real->pMethods->xCheckReservedLock(f->real, out);
}

static int fv_file_control(sqlite3_file *pf, int op, void *arg) {
  FvFile *f = (FvFile *)pf;
  /* A size hint would grow the real file behind the buffer: ignore it (it is a hint). */
  if (f->sh && op == SQLITE_FCNTL_SIZE_HINT) return SQLITE_OK;
  return f->real->pMethods->xFileControl(f->real, op, arg);
}

static int fv_sector_size(sqlite3_file *pf) {
  FvFile *f = (FvFile *)pf;
  return f->real->pMethods->xSectorSize(f->real);
}

static int fv_device_characteristics(sqlite3_file *pf) {
  FvFile *f = (FvFile *)pf;
  return f->real->pMethods->xDeviceCharacteristics(f->real);
}

static int fv_shm_map(sqlite3_file *pf, int pg, int pgsz, int extend, void volatile **pp) {
  FvFile *f = (FvFile *)pf;
  return f->real->pMethods->xShmMap(f->real, pg, pgsz, extend, pp);
}

static int fv_shm_lock(sqlite3_file *pf, int offset, int n, int flags) {
  FvFile *f = (FvFile *)pf;
  return f->real->pMethods->xShmLock(f->real, offset, n, flags);
}

static void fv_shm_barrier(sqlite3_file *pf) {
  FvFile *f = (FvFile *)pf;
  f->real->pMethods->xShmBarrier(f->real);
}

static int fv_shm_unmap(sqlite3_file *pf, int delete_flag) {
  FvFile *f = (FvFile *)pf;
  return f->real->pMethods->xShmUnmap(f->real, delete_flag);
}

/* Version 2: no xFetch, so SQLite never memory-maps a file behind the buffer. */
static const sqlite3_io_methods fv_methods = {
    2,           fv_close,       fv_read,        fv_write,
    fv_truncate, fv_sync,        fv_file_size,   fv_lock,
    fv_unlock,   fv_check_reserved, fv_file_control, fv_sector_size,
    fv_device_characteristics, fv_shm_map, fv_shm_lock, fv_shm_barrier,
    fv_shm_unmap, NULL,          NULL,
};

/* ---------------------------------------------------------------- vfs methods */
static int fv_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *pf, int flags, int *out) {
  (void)vfs;
  FvFile *f = (FvFile *)pf;
  memset(f, 0, sizeof *f);
  f->real = (sqlite3_file *)(f + 1);
  int rc = g.unix_vfs->xOpen(g.unix_vfs, name, f->real, flags, out);
  if (rc != SQLITE_OK) {
    if (f->real->pMethods) f->real->pMethods->xClose(f->real);
    return rc;
  }
  f->named = name != NULL && (flags & FILE_KINDS) != 0;
  f->wal = (flags & SQLITE_OPEN_WAL) != 0;
  f->path = strdup(name ? name : "");
  pthread_mutex_lock(&g.mu);
  if (f->named && g.buffer) {
    f->sh = shared_for(name, f->real);
    if (f->sh) f->sh->nref++;
  }
  pthread_mutex_unlock(&g.mu);
  pf->pMethods = &fv_methods;
  return SQLITE_OK;
}

static int fv_delete(sqlite3_vfs *vfs, const char *name, int dirsync) {
  (void)vfs;
  pthread_mutex_lock(&g.mu);
  for (Shared *s = g.shared; s; s = s->next) {
    if (!strcmp(s->path, name)) {
      if (s->nref == 0) {
        forget_shared(s);
      } else { /* still open (unlinked while open): nothing of it survives a crash */
        drop_chunks(s, 0, 0);
        s->clip = -1;
        s->size = 0;
      }
      break;
    }
  }
  pthread_mutex_unlock(&g.mu);
  return g.unix_vfs->xDelete(g.unix_vfs, name, dirsync);
}

static int fv_access(sqlite3_vfs *v, const char *n, int flags, int *out) {
  (void)v;
  return g.unix_vfs->xAccess(g.unix_vfs, n, flags, out);
}
static int fv_full_pathname(sqlite3_vfs *v, const char *n, int nout, char *out) {
  (void)v;
  return g.unix_vfs->xFullPathname(g.unix_vfs, n, nout, out);
}
static void *fv_dlopen(sqlite3_vfs *v, const char *n) {
  (void)v;
  return g.unix_vfs->xDlOpen(g.unix_vfs, n);
}
static void fv_dlerror(sqlite3_vfs *v, int n, char *out) {
  (void)v;
  g.unix_vfs->xDlError(g.unix_vfs, n, out);
}
static void (*fv_dlsym(sqlite3_vfs *v, void *h, const char *sym))(void) {
  (void)v;
  return g.unix_vfs->xDlSym(g.unix_vfs, h, sym);
}
static void fv_dlclose(sqlite3_vfs *v, void *h) {
  (void)v;
  g.unix_vfs->xDlClose(g.unix_vfs, h);
}
static int fv_randomness(sqlite3_vfs *v, int n, char *out) {
  (void)v;
  return g.unix_vfs->xRandomness(g.unix_vfs, n, out);
}
static int fv_sleep(sqlite3_vfs *v, int us) {
  (void)v;
  return g.unix_vfs->xSleep(g.unix_vfs, us);
}
static int fv_current_time(sqlite3_vfs *v, double *out) {
  (void)v;
  return g.unix_vfs->xCurrentTime(g.unix_vfs, out);
}
static int fv_get_last_error(sqlite3_vfs *v, int n, char *out) {
  (void)v;
  return g.unix_vfs->xGetLastError(g.unix_vfs, n, out);
}
static int fv_current_time_i64(sqlite3_vfs *v, i64 *out) {
  (void)v;
  return g.unix_vfs->xCurrentTimeInt64(g.unix_vfs, out);
}

/* ---------------------------------------------------------------- public API */
/* Register "faultvfs" (the default VFS when make_default) with ``config``; idempotent. */
int faultvfs_register(const char *config, int make_default) {
  pthread_mutex_lock(&g.mu);
  apply_config(config);
  if (!g.registered) {
    g.unix_vfs = sqlite3_vfs_find("unix");
    if (!g.unix_vfs) {
      pthread_mutex_unlock(&g.mu);
      return SQLITE_ERROR;
    }
    g.vfs = (sqlite3_vfs){
        .iVersion = 2,
        .szOsFile = (int)sizeof(FvFile) + g.unix_vfs->szOsFile,
        .mxPathname = g.unix_vfs->mxPathname,
        .zName = "faultvfs",
        .xOpen = fv_open,
        .xDelete = fv_delete,
        .xAccess = fv_access,
        .xFullPathname = fv_full_pathname,
        .xDlOpen = fv_dlopen,
        .xDlError = fv_dlerror,
        .xDlSym = fv_dlsym,
        .xDlClose = fv_dlclose,
        .xRandomness = fv_randomness,
        .xSleep = fv_sleep,
        .xCurrentTime = fv_current_time,
        .xGetLastError = fv_get_last_error,
        .xCurrentTimeInt64 = fv_current_time_i64,
    };
    g.registered = 1;
  }
  pthread_mutex_unlock(&g.mu);
  return sqlite3_vfs_register(&g.vfs, make_default);
}

/* Change the configuration at run time (same pairs as faultvfs_register). */
void faultvfs_configure(const char *config) {
  pthread_mutex_lock(&g.mu);
  apply_config(config);
  pthread_mutex_unlock(&g.mu);
}

/* Make "unix" (0) or "faultvfs" (1) the default VFS for connections opened from now on. */
int faultvfs_make_default(int on) {
  return sqlite3_vfs_register(on ? &g.vfs : g.unix_vfs, 1);
}

/* Name of the current default VFS ("unix", "faultvfs", ...). */
const char *faultvfs_default_name(void) {
  sqlite3_vfs *v = sqlite3_vfs_find(NULL);
  return v ? v->zName : "";
}

/* A counter: syncs, wal_syncs, faults, buffered_writes, early_writebacks,
 * dropped_chunks (unsynced chunks discarded by truncate/delete/drop),
 * dirty_chunks (buffered now), or -1 for an unknown name. */
long long faultvfs_stat(const char *name) {
  long long out = -1;
  pthread_mutex_lock(&g.mu);
  if (!strcmp(name, "syncs")) out = g.syncs;
  else if (!strcmp(name, "wal_syncs")) out = g.wal_syncs;
  else if (!strcmp(name, "faults")) out = g.faults;
  else if (!strcmp(name, "buffered_writes")) out = g.buffered_writes;
  else if (!strcmp(name, "early_writebacks")) out = g.early_writebacks;
  else if (!strcmp(name, "dropped_chunks")) out = g.dropped_chunks;
  else if (!strcmp(name, "dirty_chunks")) {
    out = 0;
    for (Shared *s = g.shared; s; s = s->next) out += s->ndirty;
  }
  pthread_mutex_unlock(&g.mu);
  return out;
}
