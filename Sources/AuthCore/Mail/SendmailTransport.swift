import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `AUTH_MAIL_SENDMAIL`: the host's MTA as PHP's mail() and most server software call it,
/// `sendmail -t -i` (recipients from the headers; a lone dot is no end of input), the message on
/// stdin with the local newline convention (LF). The run has a deadline (killed past it); its
/// output is read and dropped, never logged (an MTA may echo the message back).
public struct SendmailTransport: MailTransport {
    public let path: String
    public let timeout: Double

    public func probe() -> DeliveryResult {
        access(path, X_OK) == 0 ? .sent : .permanent("\(path) is not an executable file")
    }

    public func deliver(from: String, to: String, message: String) -> DeliveryResult {
        var input = Array(message.replacingOccurrences(of: "\r\n", with: "\n").utf8)
        defer { for i in input.indices { input[i] = 0 } }
        var toChild: [Int32] = [-1, -1], fromChild: [Int32] = [-1, -1]
        guard pipe(&toChild) == 0 else { return .temporary("sendmail: pipe: \(String(cString: strerror(errno)))") }
        guard pipe(&fromChild) == 0 else {
            close(toChild[0]); close(toChild[1])
            return .temporary("sendmail: pipe: \(String(cString: strerror(errno)))")
        }
        // Close-on-exec: a worker's concurrent spawn elsewhere must not inherit these ends.
        for fd in toChild + fromChild { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, toChild[0], 0)
        posix_spawn_file_actions_adddup2(&actions, fromChild[1], 1)
        posix_spawn_file_actions_adddup2(&actions, fromChild[1], 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK))
        let args = [path, "-t", "-i"]
        let argv = args.map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        let envp: [UnsafeMutablePointer<CChar>?] = [strdup("PATH=/usr/sbin:/usr/bin:/sbin:/bin"), nil]
        defer { for p in envp { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, path, &actions, &attributes, argv, envp)
        close(toChild[0]); close(fromChild[1])
        guard rc == 0 else {
            close(toChild[1]); close(fromChild[0])
            return .temporary("sendmail: cannot run \(path): \(String(cString: strerror(rc)))")
        }
        let deadline = Self.now() + timeout
        _ = fcntl(toChild[1], F_SETFL, fcntl(toChild[1], F_GETFL) | O_NONBLOCK)
        _ = fcntl(fromChild[0], F_SETFL, fcntl(fromChild[0], F_GETFL) | O_NONBLOCK)
        var written = 0, writeOpen = true, readOpen = true, status: Int32 = 0, exited = false
        var scratch = [UInt8](repeating: 0, count: 4096)
        while Self.now() < deadline {
            if writeOpen && written < input.count {
                let n = input.withUnsafeBytes { write(toChild[1], $0.baseAddress! + written, input.count - written) }
                if n > 0 { written += n } else if n < 0 && errno != EAGAIN && errno != EINTR { writeOpen = false; close(toChild[1]) }
            }
            if writeOpen && written >= input.count { writeOpen = false; close(toChild[1]) }
            if readOpen {
                let n = read(fromChild[0], &scratch, scratch.count)
                if n == 0 { readOpen = false } else if n < 0 && errno != EAGAIN && errno != EINTR { readOpen = false }
            }
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid { exited = true; break }
            var fds = [pollfd(fd: readOpen ? fromChild[0] : -1, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: writeOpen ? toChild[1] : -1, events: Int16(POLLOUT), revents: 0)]
            _ = poll(&fds, 2, 10)
        }
        if writeOpen { close(toChild[1]) }
        close(fromChild[0])
        guard exited else {
            kill(pid, SIGKILL)
            _ = waitpid(pid, &status, 0)
            return .temporary("sendmail: no exit within \(timeout) s (killed)")
        }
        if status & 0x7f != 0 { return .temporary("sendmail: killed by signal \(status & 0x7f)") }
        let code = (status >> 8) & 0xff
        if code == 0 { return written >= input.count ? .sent : .temporary("sendmail: exited before reading the message") }
        // sysexits.h: EX_DATAERR 65, EX_NOUSER 67, EX_NOHOST 68 are for good; anything else
        // (EX_TEMPFAIL 75, EX_UNAVAILABLE 69, a crash) is retried.
        if code == 65 || code == 67 || code == 68 { return .permanent("sendmail: exit status \(code)") }
        return .temporary("sendmail: exit status \(code)")
    }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
