import Glibc

enum BenchMain {
    nonisolated static func run(_ argv: [String]) -> Never {
        guard argv.count >= 2 else { fail("usage: authgate-bench core|hash|mfa|tokens|ws-echo|ws-upstream|ws-idle [options]") }
        let args = Args(Array(argv.dropFirst(2)))
        switch argv[1] {
        case "core": CoreBench.run(args)
        case "hash": CoreBench.hash(args)
        case "mfa": MFABench.run(args)
        case "tokens": TokenMint.run(args)
        case "ws-echo": WSEcho.run(args)
        case "ws-upstream": WSIdleUpstream.run(args)
        case "ws-idle": WSIdle.run(args)
        default: fail("unknown mode \(argv[1])")
        }
        exit(0)
    }
}

struct Args {
    var values: [String: String] = [:]
    init(_ list: [String]) {
        var i = 0
        while i < list.count {
            let key = list[i].hasPrefix("--") ? String(list[i].dropFirst(2)) : list[i]
            if i + 1 < list.count, !list[i + 1].hasPrefix("--") {
                values[key] = list[i + 1]; i += 2
            } else {
                values[key] = ""; i += 1
            }
        }
    }
    func string(_ k: String) -> String { guard let v = values[k] else { fail("missing --\(k)") }; return v }
    func int(_ k: String, _ d: Int) -> Int { values[k].flatMap { Int($0) } ?? d }
    func double(_ k: String, _ d: Double) -> Double { values[k].flatMap { Double($0) } ?? d }
    func has(_ k: String) -> Bool { values[k] != nil }
}

func fail(_ message: String) -> Never {
    let line = Array("authgate-bench: \(message)\n".utf8)
    line.withUnsafeBytes { _ = write(2, $0.baseAddress, $0.count) }
    exit(1)
}

func nowSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

func percentile(_ sorted: [Double], _ p: Double) -> Double {
    guard !sorted.isEmpty else { return 0 }
    let i = min(sorted.count - 1, max(0, Int((p * Double(sorted.count)).rounded(.up)) - 1))
    return sorted[i]
}

func fmt(_ v: Double, _ digits: Int = 3) -> String {
    var p = 1.0
    for _ in 0..<digits { p *= 10 }
    let r = (v * p).rounded() / p
    return "\(r)"
}

/// VmRSS of a process in KiB (0 when unreadable).
func rssKiB(pid: Int) -> Int {
    guard let f = fopen("/proc/\(pid)/status", "r") else { return 0 }
    defer { fclose(f) }
    var line = [CChar](repeating: 0, count: 512)
    while fgets(&line, 512, f) != nil {
        let s = String(cString: line)
        if s.hasPrefix("VmRSS:") {
            return Int(s.dropFirst(6).filter { $0.isNumber }) ?? 0
        }
    }
    return 0
}
