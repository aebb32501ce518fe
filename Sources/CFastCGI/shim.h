#ifndef AUTHGATE_CFASTCGI_SHIM_H
#define AUTHGATE_CFASTCGI_SHIM_H
#include <fcgiapp.h>
#include <fcgios.h>
#include <fcntl.h>

// Swift cannot call variadic C (fcntl) or reach a struct field named `in` comfortably.
static inline FCGX_Stream *authgate_fcgx_in(FCGX_Request *r) { return r->in; }
static inline FCGX_Stream *authgate_fcgx_out(FCGX_Request *r) { return r->out; }
static inline char **authgate_fcgx_envp(FCGX_Request *r) { return r->envp; }

// Bytes from/to libfcgi streams, typed as void * so Swift can pass [UInt8] buffers.
static inline int authgate_fcgx_read(void *buf, int n, FCGX_Stream *s) { return FCGX_GetStr((char *)buf, n, s); }
static inline int authgate_fcgx_write(const void *buf, int n, FCGX_Stream *s) { return FCGX_PutStr((const char *)buf, n, s); }

static inline int authgate_fcgi_set_cloexec(int fd) {
    int flags = fcntl(fd, F_GETFD, 0);
    if (flags < 0) return -1;
    return fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
}
#endif
