import AuthCrypto
import Glibc

/// Blocking socket helpers for the WebSocket clients (bench only, no TLS).
enum Sock {
    static func tcp(port: Int) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return -1 }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if rc != 0 { close(fd); return -1 }
        return fd
    }

    static func unix(_ path: String) -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return -1 }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in raw.copyBytes(from: bytes); raw[bytes.count] = 0 }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        if rc != 0 { close(fd); return -1 }
        return fd
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + off, $0.count - off) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return false }
            off += n
        }
        return true
    }

    static func readExactly(_ fd: Int32, _ buf: UnsafeMutableRawPointer, _ count: Int) -> Bool {
        var off = 0
        while off < count {
            let n = read(fd, buf + off, count - off)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return false }
            off += n
        }
        return true
    }

    /// Reads an HTTP response head; true when its status is 101.
    static func readUpgrade(_ fd: Int32) -> Bool {
        var head: [UInt8] = []
        var byte: UInt8 = 0
        while head.count < 8192 {
            let n = read(fd, &byte, 1)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return false }
            head.append(byte)
            if head.count >= 4 && head[head.count - 4..<head.count].elementsEqual([13, 10, 13, 10]) { break }
        }
        return String(decoding: head.prefix(16), as: UTF8.self).contains(" 101")
    }

    static func upgradeRequest(path: String) -> [UInt8] {
        let key = Base64.encode(Crypto.randomBytes(16))
        return Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: \(key)\r\nSec-WebSocket-Version: 13\r\n\r\n".utf8)
    }

    /// A masked client binary frame (payload < 65536).
    static func clientFrame(_ payload: [UInt8]) -> [UInt8] {
        var f: [UInt8] = [0x82]
        if payload.count < 126 {
            f.append(0x80 | UInt8(payload.count))
        } else {
            f.append(0x80 | 126); f.append(UInt8(payload.count >> 8)); f.append(UInt8(payload.count & 0xff))
        }
        let mask: [UInt8] = [0x12, 0x34, 0x56, 0x78]
        f += mask
        for (i, b) in payload.enumerated() { f.append(b ^ mask[i & 3]) }
        return f
    }
}
