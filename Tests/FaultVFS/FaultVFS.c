/* A wrapping SQLite VFS for fault injection in tests (see include/FaultVFS.h). Every method
 * forwards to the default VFS's file; xWrite, xSync and xTruncate first ask `fault_hit`. */
#include "FaultVFS.h"

#include <sqlite3.h>
#include <string.h>

typedef struct FaultFile {
    sqlite3_file base;   /* our methods */
    sqlite3_file *real;  /* the default VFS's file, allocated right after this struct */
} FaultFile;

static sqlite3_vfs *real_vfs;
static sqlite3_vfs fault_vfs;

/* The plan: shared by every thread (only the fault test arms it; other suites' databases do
 * not go through this VFS). */
static int armed, nth, errcode, persist, seen, failed;

static int fault_hit(void) {
    if (!__atomic_load_n(&armed, __ATOMIC_SEQ_CST)) return SQLITE_OK;
    int n = __atomic_add_fetch(&seen, 1, __ATOMIC_SEQ_CST);
    int target = __atomic_load_n(&nth, __ATOMIC_SEQ_CST);
    if (target > 0 && (n == target || (persist && n > target))) {
        __atomic_add_fetch(&failed, 1, __ATOMIC_SEQ_CST);
        return __atomic_load_n(&errcode, __ATOMIC_SEQ_CST);
    }
    return SQLITE_OK;
}

#define REAL(f) (((FaultFile *)(f))->real)

static int fClose(sqlite3_file *f) {
    int rc = REAL(f)->pMethods ? REAL(f)->pMethods->xClose(REAL(f)) : SQLITE_OK;
    f->pMethods = 0;
    return rc;
}
static int fRead(sqlite3_file *f, void *buf, int amt, sqlite3_int64 off) {
    return REAL(f)->pMethods->xRead(REAL(f), buf, amt, off);
}
static int fWrite(sqlite3_file *f, const void *buf, int amt, sqlite3_int64 off) {
    int rc = fault_hit();
    if (rc != SQLITE_OK) return rc;
    return REAL(f)->pMethods->xWrite(REAL(f), buf, amt, off);
}
static int fTruncate(sqlite3_file *f, sqlite3_int64 size) {
    int rc = fault_hit();
    if (rc != SQLITE_OK) return rc == SQLITE_IOERR_WRITE ? SQLITE_IOERR_TRUNCATE : rc;
    return REAL(f)->pMethods->xTruncate(REAL(f), size);
}
static int fSync(sqlite3_file *f, int flags) {
    int rc = fault_hit();
    if (rc != SQLITE_OK) return rc == SQLITE_IOERR_WRITE ? SQLITE_IOERR_FSYNC : rc;
    return REAL(f)->pMethods->xSync(REAL(f), flags);
}
static int fFileSize(sqlite3_file *f, sqlite3_int64 *size) { return REAL(f)->pMethods->xFileSize(REAL(f), size); }
static int fLock(sqlite3_file *f, int lock) { return REAL(f)->pMethods->xLock(REAL(f), lock); }
static int fUnlock(sqlite3_file *f, int lock) { return REAL(f)->pMethods->xUnlock(REAL(f), lock); }
static int fCheckReservedLock(sqlite3_file *f, int *out) { return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out); }
static int fFileControl(sqlite3_file *f, int op, void *arg) { return REAL(f)->pMethods->xFileControl(REAL(f), op, arg); }
static int fSectorSize(sqlite3_file *f) { return REAL(f)->pMethods->xSectorSize(REAL(f)); }
static int fDeviceCharacteristics(sqlite3_file *f) { return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f)); }
static int fShmMap(sqlite3_file *f, int pg, int sz, int extend, void volatile **pp) {
    return REAL(f)->pMethods->xShmMap(REAL(f), pg, sz, extend, pp);
}
static int fShmLock(sqlite3_file *f, int off, int n, int flags) { return REAL(f)->pMethods->xShmLock(REAL(f), off, n, flags); }
static void fShmBarrier(sqlite3_file *f) { REAL(f)->pMethods->xShmBarrier(REAL(f)); }
static int fShmUnmap(sqlite3_file *f, int del) { return REAL(f)->pMethods->xShmUnmap(REAL(f), del); }
static int fFetch(sqlite3_file *f, sqlite3_int64 off, int amt, void **pp) {
    /* No memory-mapped reads: every page goes through xRead (AUTH does not enable mmap anyway). */
    (void)f; (void)off; (void)amt;
    *pp = 0;
    return SQLITE_OK;
}
static int fUnfetch(sqlite3_file *f, sqlite3_int64 off, void *p) {
    (void)f; (void)off; (void)p;
    return SQLITE_OK;
}

static const sqlite3_io_methods fault_methods = {
    3, fClose, fRead, fWrite, fTruncate, fSync, fFileSize, fLock, fUnlock, fCheckReservedLock,
    fFileControl, fSectorSize, fDeviceCharacteristics, fShmMap, fShmLock, fShmBarrier, fShmUnmap,
    fFetch, fUnfetch,
};

static int vOpen(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *outFlags) {
    (void)vfs;
    FaultFile *ff = (FaultFile *)f;
    ff->real = (sqlite3_file *)&ff[1];
    memset(ff->real, 0, (size_t)real_vfs->szOsFile);
    int rc = real_vfs->xOpen(real_vfs, name, ff->real, flags, outFlags);
    f->pMethods = ff->real->pMethods ? &fault_methods : 0;
    return rc;
}
static int vDelete(sqlite3_vfs *vfs, const char *name, int syncDir) {
    (void)vfs;
    return real_vfs->xDelete(real_vfs, name, syncDir);
}
static int vAccess(sqlite3_vfs *vfs, const char *name, int flags, int *out) {
    (void)vfs;
    return real_vfs->xAccess(real_vfs, name, flags, out);
}
static int vFullPathname(sqlite3_vfs *vfs, const char *name, int n, char *out) {
    (void)vfs;
    return real_vfs->xFullPathname(real_vfs, name, n, out);
}
static void *vDlOpen(sqlite3_vfs *vfs, const char *name) { (void)vfs; return real_vfs->xDlOpen(real_vfs, name); }
static void vDlError(sqlite3_vfs *vfs, int n, char *msg) { (void)vfs; real_vfs->xDlError(real_vfs, n, msg); }
static void (*vDlSym(sqlite3_vfs *vfs, void *h, const char *sym))(void) { (void)vfs; return real_vfs->xDlSym(real_vfs, h, sym); }
static void vDlClose(sqlite3_vfs *vfs, void *h) { (void)vfs; real_vfs->xDlClose(real_vfs, h); }
static int vRandomness(sqlite3_vfs *vfs, int n, char *out) { (void)vfs; return real_vfs->xRandomness(real_vfs, n, out); }
static int vSleep(sqlite3_vfs *vfs, int us) { (void)vfs; return real_vfs->xSleep(real_vfs, us); }
static int vCurrentTime(sqlite3_vfs *vfs, double *out) { (void)vfs; return real_vfs->xCurrentTime(real_vfs, out); }
static int vGetLastError(sqlite3_vfs *vfs, int n, char *out) { (void)vfs; return real_vfs->xGetLastError(real_vfs, n, out); }
static int vCurrentTimeInt64(sqlite3_vfs *vfs, sqlite3_int64 *out) {
    (void)vfs;
    return real_vfs->xCurrentTimeInt64(real_vfs, out);
}

int faultvfs_register(void) {
    static int registered;
    if (__atomic_load_n(&registered, __ATOMIC_SEQ_CST)) return SQLITE_OK;
    real_vfs = sqlite3_vfs_find(0);
    if (!real_vfs) return SQLITE_ERROR;
    fault_vfs.iVersion = 2;
    fault_vfs.szOsFile = (int)sizeof(FaultFile) + real_vfs->szOsFile;
    fault_vfs.mxPathname = real_vfs->mxPathname;
    fault_vfs.zName = "faultvfs";
    fault_vfs.xOpen = vOpen;
    fault_vfs.xDelete = vDelete;
    fault_vfs.xAccess = vAccess;
    fault_vfs.xFullPathname = vFullPathname;
    fault_vfs.xDlOpen = vDlOpen;
    fault_vfs.xDlError = vDlError;
    fault_vfs.xDlSym = vDlSym;
    fault_vfs.xDlClose = vDlClose;
    fault_vfs.xRandomness = vRandomness;
    fault_vfs.xSleep = vSleep;
    fault_vfs.xCurrentTime = vCurrentTime;
    fault_vfs.xGetLastError = vGetLastError;
    fault_vfs.xCurrentTimeInt64 = vCurrentTimeInt64;
    int rc = sqlite3_vfs_register(&fault_vfs, 0);
    if (rc == SQLITE_OK) __atomic_store_n(&registered, 1, __ATOMIC_SEQ_CST);
    return rc;
}

void faultvfs_arm(int n, int code, int keep) {
    __atomic_store_n(&armed, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&seen, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&failed, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&nth, n, __ATOMIC_SEQ_CST);
    __atomic_store_n(&errcode, code, __ATOMIC_SEQ_CST);
    __atomic_store_n(&persist, keep, __ATOMIC_SEQ_CST);
    __atomic_store_n(&armed, 1, __ATOMIC_SEQ_CST);
}

void faultvfs_disarm(void) { __atomic_store_n(&armed, 0, __ATOMIC_SEQ_CST); }
int faultvfs_count(void) { return __atomic_load_n(&seen, __ATOMIC_SEQ_CST); }
int faultvfs_failures(void) { return __atomic_load_n(&failed, __ATOMIC_SEQ_CST); }
