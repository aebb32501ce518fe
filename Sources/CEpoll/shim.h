#ifndef AUTHGATE_CEPOLL_SHIM_H
#define AUTHGATE_CEPOLL_SHIM_H
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <sys/signalfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <fcntl.h>
#include <grp.h>
#include <string.h>
#include <errno.h>
// fcntl is variadic in C.
static inline int authgate_set_nonblocking(int fd) {
    int flags = fcntl(fd, F_GETFL, 0);
    if (flags < 0) return -1;
    return fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}
static inline int authgate_set_blocking(int fd) {
    int flags = fcntl(fd, F_GETFL, 0);
    if (flags < 0) return -1;
    return fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
}
static inline int authgate_set_cloexec(int fd) {
    int flags = fcntl(fd, F_GETFD, 0);
    if (flags < 0) return -1;
    return fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
}
// epoll_event is packed on x86_64; keep field access in C.
static inline int authgate_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data) {
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = events;
    ev.data.u64 = data;
    return epoll_ctl(epfd, op, fd, &ev);
}
static inline size_t authgate_epoll_event_size(void) { return sizeof(struct epoll_event); }
static inline int authgate_epoll_wait(int epfd, void *events, int max, int timeout) {
    return epoll_wait(epfd, (struct epoll_event *)events, max, timeout);
}
static inline uint32_t authgate_epoll_event_mask(const void *events, int i) {
    return ((const struct epoll_event *)events)[i].events;
}
static inline uint64_t authgate_epoll_event_data(const void *events, int i) {
    return ((const struct epoll_event *)events)[i].data.u64;
}
// Blocks SIGTERM/SIGINT for the calling thread (call before spawning threads) and returns a signalfd.
static inline int authgate_signalfd_term(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0) return -1;
    return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}
// Like authgate_signalfd_term, with SIGHUP too (reload); read the signal with authgate_signalfd_next.
static inline int authgate_signalfd_term_hup(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0) return -1;
    return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}
// The next pending signal's number from a signalfd, 0 when none.
static inline int authgate_signalfd_next(int fd) {
    struct signalfd_siginfo info;
    if (read(fd, &info, sizeof info) != (ssize_t)sizeof info) return 0;
    return (int)info.ssi_signo;
}
// Undoes a blocked SIGTERM/SIGINT inherited from the parent (posix_spawn keeps the mask).
static inline void authgate_unblock_term(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
}
static inline void authgate_ignore_sigpipe(void) { signal(SIGPIPE, SIG_IGN); }
// Unix socket address helpers; return -1 when the path does not fit sun_path.
static inline int authgate_unix_connect(int fd, const char *path) {
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof a.sun_path) { errno = ENAMETOOLONG; return -1; }
    strcpy(a.sun_path, path);
    return connect(fd, (struct sockaddr *)&a, sizeof a);
}
static inline int authgate_unix_bind(int fd, const char *path) {
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof a.sun_path) { errno = ENAMETOOLONG; return -1; }
    strcpy(a.sun_path, path);
    return bind(fd, (struct sockaddr *)&a, sizeof a);
}
// Loopback TCP connect: `ip` is a numeric IPv4 or IPv6 literal.
static inline int authgate_inet_connect(int fd, int family, const char *ip, int port) {
    if (family == AF_INET) {
        struct sockaddr_in a;
        memset(&a, 0, sizeof a);
        a.sin_family = AF_INET;
        a.sin_port = htons((uint16_t)port);
        if (inet_pton(AF_INET, ip, &a.sin_addr) != 1) { errno = EINVAL; return -1; }
        return connect(fd, (struct sockaddr *)&a, sizeof a);
    } else {
        struct sockaddr_in6 a;
        memset(&a, 0, sizeof a);
        a.sin6_family = AF_INET6;
        a.sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, ip, &a.sin6_addr) != 1) { errno = EINVAL; return -1; }
        return connect(fd, (struct sockaddr *)&a, sizeof a);
    }
}
// accept4 needs _GNU_SOURCE, which Swift's Glibc does not set.
int accept4(int, struct sockaddr *, socklen_t *, int);
static inline int authgate_accept_nonblocking(int fd) {
    return accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
}
static inline int authgate_socket_error(int fd) {
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return errno;
    return err;
}
// Raises the soft RLIMIT_NOFILE to the hard limit; returns the new soft limit or -1.
static inline long authgate_raise_nofile(void) {
    struct rlimit r;
    if (getrlimit(RLIMIT_NOFILE, &r) != 0) return -1;
    r.rlim_cur = r.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &r) != 0) return -1;
    return (long)r.rlim_cur;
}
static inline int authgate_group_id(const char *name, unsigned int *gid) {
    struct group *g = getgrnam(name);
    if (!g) return -1;
    *gid = g->gr_gid;
    return 0;
}
// MSG_NOSIGNAL is an enum-backed macro in glibc that Swift does not always import.
static inline int authgate_msg_nosignal(void) { return MSG_NOSIGNAL; }
#endif
