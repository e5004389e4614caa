#ifndef ISTHMUS_STORE_SQLITE_WAL_VFS_H
#define ISTHMUS_STORE_SQLITE_WAL_VFS_H

#include <sqlite3.h>

/* A VFS over the default one that writes each commit's frames to the
 * write-ahead log with one system call instead of two per page (see
 * wal_vfs.c for why that is safe). Open a connection with it by passing
 * WAL_VFS_NAME to sqlite3_open_v2. */
#define WAL_VFS_NAME "isthmus-log"

/* Registers the VFS once per process; 0, or -1 if SQLite has no default
 * VFS to wrap. */
int wal_vfs_register(void);

#endif
