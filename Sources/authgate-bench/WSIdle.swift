import AuthCrypto
import Glibc

/// A minimal WebSocket upstream for the idle test: accepts, answers the upgrade with 101, then
/// leaves the connection idle (never reads again). Blocking and serial: the companion sends its
/// upgrade right after connecting.
enum WSIdleUpstream {
    nonisolated static func run(_ args: Args) {
        raiseFileLimit()
        let path = args.string("socket")
        unlink(path)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in raw.copyBytes(from: bytes); raw[bytes.count] = 0 }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0, listen(fd, 4096) == 0 else { fail("ws-upstream: cannot listen on \(path)") }
        chmod(path, 0o666)
        var held: [Int32] = []
        while true {
            let c = accept(fd, nil, nil)
            if c < 0 { if errno == EINTR { continue }; usleep(1000); continue }
            var timeout = timeval(tv_sec: 5, tv_usec: 0)
            setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            guard let key = readKey(c) else { close(c); continue }
            let accept = Base64.encode(Crypto.sha1(Array((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").utf8)))
            _ = Sock.writeAll(c, Array("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: \(accept)\r\n\r\n".utf8))
            held.append(c)
        }
    }

    static func readKey(_ fd: Int32) -> String? {
        var head: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 4096)
        while head.count < 16384 {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return nil }
            head += buf[0..<n]
            if let text = String(validating: head, as: UTF8.self), text.contains("\r\n\r\n") {
                for line in text.split(separator: "\r\n") where line.lowercased().hasPrefix("sec-websocket-key:") {
                    return line.dropFirst("sec-websocket-key:".count).trimmingCharacters(in: " ")
                }
                return nil
            }
        }
        return nil
    }
}

extension Substring {
    func trimmingCharacters(in set: Character) -> String {
        var s = self
        while s.first == set { s.removeFirst() }
        while s.last == set { s.removeLast() }
        return String(s)
    }
}

func raiseFileLimit() {
    var lim = rlimit()
    getrlimit(Int32(RLIMIT_NOFILE.rawValue), &lim)
    lim.rlim_cur = lim.rlim_max
    setrlimit(Int32(RLIMIT_NOFILE.rawValue), &lim)
}

/// Opens `count` authenticated WebSocket connections straight on the companion's Unix socket
/// (no nginx), in batches, then reports the companion's RSS and holds them for `hold` seconds.
enum WSIdle {
    nonisolated static func run(_ args: Args) {
        raiseFileLimit()
        let count = args.int("count", 10_000)
        let path = args.string("path")
        let socketPath = args.string("socket")
        let pid = args.int("pid", 0)
        let rssBefore = rssKiB(pid: pid)
        var open: [Int32] = []
        open.reserveCapacity(count)
        var failed = 0
        var firstError = ""
        let started = nowSeconds()
        let batch = 200
        while open.count + failed < count && failed < 50 {
            var pending: [Int32] = []
            for _ in 0..<min(batch, count - open.count - failed) {
                let fd = Sock.unix(socketPath)
                if fd < 0 { failed += 1; if firstError.isEmpty { firstError = "connect: \(String(cString: strerror(errno)))" }; continue }
                var timeout = timeval(tv_sec: 10, tv_usec: 0)
                setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                if Sock.writeAll(fd, Sock.upgradeRequest(path: path)) { pending.append(fd) } else { close(fd); failed += 1 }
            }
            for fd in pending {
                if Sock.readUpgrade(fd) { open.append(fd) } else {
                    close(fd); failed += 1
                    if firstError.isEmpty { firstError = "no 101 after \(open.count) connections" }
                }
            }
        }
        let setup = nowSeconds() - started
        usleep(1_000_000)
        let rssAfter = rssKiB(pid: pid)
        let perConn = open.isEmpty ? 0 : Double(rssAfter - rssBefore) * 1024 / Double(open.count)
        print("""
        {"requested": \(count), "open": \(open.count), "failed": \(failed), "first_error": "\(firstError)", \
        "setup_s": \(fmt(setup, 2)), "rss_before_kib": \(rssBefore), "rss_after_kib": \(rssAfter), \
        "rss_after_mib": \(fmt(Double(rssAfter) / 1024, 1)), "bytes_per_conn": \(Int(perConn))}
        """)
        fflush(nil)
        let hold = args.double("hold", 0)
        if hold > 0 { usleep(UInt32(hold * 1e6)) }
        for fd in open { close(fd) }
    }
}
