#ifndef AUTHGATE_CLIBPQ_SHIM_H
#define AUTHGATE_CLIBPQ_SHIM_H
// Debian puts libpq's headers in /usr/include/postgresql; pkg-config adds that directory, but a
// machine without pkg-config must build too (its quoted includes resolve next to libpq-fe.h).
#if __has_include(<libpq-fe.h>)
#include <libpq-fe.h>
#else
#include <postgresql/libpq-fe.h>
#endif
// PG_DIAG_SQLSTATE is a character constant in postgres_ext.h ('C'); spelled out for Swift.
static inline int authgate_pg_diag_sqlstate(void) { return PG_DIAG_SQLSTATE; }
// The severity in English whatever the server's lc_messages ('V', PostgreSQL 9.6+).
static inline int authgate_pg_diag_severity_nonlocalized(void) { return PG_DIAG_SEVERITY_NONLOCALIZED; }
#endif
