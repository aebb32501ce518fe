#ifndef AUTHGATE_CLIBPQ_SHIM_H
#define AUTHGATE_CLIBPQ_SHIM_H
#include <libpq-fe.h>
// PG_DIAG_SQLSTATE is a character constant in postgres_ext.h ('C'); spelled out for Swift.
static inline int authgate_pg_diag_sqlstate(void) { return PG_DIAG_SQLSTATE; }
#endif
