import Glibc

/// WebSocket echo load: `conns` connections (one thread each), each sending one binary frame
/// and waiting for its echo, for `secs` seconds. Messages/s and round-trip percentiles.
final class EchoShared: @unchecked Sendable {
    let port: Int, path: String, size: Int, deadline: Double
    var latencies: [[Double]]
    var failures: [Int]
    init(port: Int, path: String, size: Int, deadline: Double, conns: Int) {
        self.port = port; self.path = path; self.size = size; self.deadline = deadline
        latencies = Array(repeating: [], count: conns); failures = Array(repeating: 0, count: conns)
    }
}

final class EchoSlot: @unchecked Sendable {
    let shared: EchoShared, index: Int
    init(_ s: EchoShared, _ i: Int) { shared = s; index = i }
}

enum WSEcho {
    nonisolated static func run(_ args: Args) {
        let conns = args.int("conns", 8)
        let secs = args.double("secs", 3)
        let shared = EchoShared(port: args.int("port", 0), path: args.string("path"), size: args.int("size", 128),
                                deadline: nowSeconds() + secs + 0.2, conns: conns)
        var threads: [pthread_t] = []
        let started = nowSeconds()
        for i in 0..<conns {
            var t = pthread_t()
            let box = Unmanaged.passRetained(EchoSlot(shared, i)).toOpaque()
            guard pthread_create(&t, nil, { echoThreadEntry($0) }, box) == 0 else { fail("pthread_create") }
            threads.append(t)
        }
        for t in threads { pthread_join(t, nil) }
        let elapsed = nowSeconds() - started
        let all = shared.latencies.flatMap { $0 }.sorted()
        let failures = shared.failures.reduce(0, +)
        print("""
        {"conns": \(conns), "size": \(shared.size), "messages": \(all.count), "msgs_per_s": \(Int(Double(all.count) / max(elapsed - 0.2, 0.001))), \
        "rtt_p50_us": \(fmt(percentile(all, 0.5), 1)), "rtt_p99_us": \(fmt(percentile(all, 0.99), 1)), "failures": \(failures)}
        """)
    }
}

nonisolated func echoThreadEntry(_ raw: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    let slot = Unmanaged<EchoSlot>.fromOpaque(raw!).takeRetainedValue()
    let s = slot.shared
    let fd = Sock.tcp(port: s.port)
    guard fd >= 0, Sock.writeAll(fd, Sock.upgradeRequest(path: s.path)), Sock.readUpgrade(fd) else {
        s.failures[slot.index] += 1
        if fd >= 0 { close(fd) }
        return nil
    }
    defer { close(fd) }
    let frame = Sock.clientFrame([UInt8](repeating: 0x61, count: s.size))
    let buf = UnsafeMutableRawPointer.allocate(byteCount: 70000, alignment: 8)
    defer { buf.deallocate() }
    var lat: [Double] = []
    lat.reserveCapacity(200_000)
    let warmEnd = nowSeconds() + 0.2
    while true {
        let t0 = nowSeconds()
        if t0 >= s.deadline { break }
        guard Sock.writeAll(fd, frame), Sock.readExactly(fd, buf, 2) else { s.failures[slot.index] += 1; break }
        let b = buf.load(fromByteOffset: 1, as: UInt8.self) & 0x7f
        var len = Int(b)
        if b == 126 {
            guard Sock.readExactly(fd, buf, 2) else { break }
            len = Int(buf.load(as: UInt8.self)) << 8 | Int(buf.load(fromByteOffset: 1, as: UInt8.self))
        }
        guard Sock.readExactly(fd, buf, len) else { s.failures[slot.index] += 1; break }
        let t1 = nowSeconds()
        if t0 >= warmEnd { lat.append((t1 - t0) * 1e6) }
    }
    s.latencies[slot.index] = lat
    return nil
}
