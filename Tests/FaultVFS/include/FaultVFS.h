#ifndef AUTHGATE_FAULT_VFS_H
#define AUTHGATE_FAULT_VFS_H

/* Tests only: a SQLite VFS named "faultvfs" that wraps the default (unix) VFS and fails the
 * Nth write, sync or truncate with a chosen error code, the way SQLite's own test suite injects
 * I/O errors and full disks (test_vfs.c, "ioerr" / "full" tests). */

/* Registers the VFS (not as the default). Returns SQLITE_OK; idempotent. */
int faultvfs_register(void);

/* From now on, counts writes, syncs and truncates of files opened through the VFS; the
 * `nth` one (1-based) fails with `errcode`; with `persist` every later one fails too (a disk
 * that stays full), without it only that one (a transient I/O error). nth = 0: count only. */
void faultvfs_arm(int nth, int errcode, int persist);

/* Stops failing and counting. */
void faultvfs_disarm(void);

/* Writes, syncs and truncates seen since the last arm. */
int faultvfs_count(void);

/* How many of them were failed since the last arm. */
int faultvfs_failures(void);

#endif
