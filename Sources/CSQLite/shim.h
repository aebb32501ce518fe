#ifndef AUTHGATE_CSQLITE_SHIM_H
#define AUTHGATE_CSQLITE_SHIM_H
#include <sqlite3.h>
// SQLITE_TRANSIENT is a function-like cast macro Swift cannot import.
static inline sqlite3_destructor_type authgate_sqlite_transient(void) { return SQLITE_TRANSIENT; }
// sqlite3_config is variadic.
static inline int authgate_sqlite_config_multithread(void) { return sqlite3_config(SQLITE_CONFIG_MULTITHREAD); }
#endif
