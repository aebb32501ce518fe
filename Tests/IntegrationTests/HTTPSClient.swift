import Foundation
import TestSupport

/// One HTTP response as a client saw it.
struct HTTPSResult {
    var status: Int
    /// Header lines in order, names lowercased (HTTP/2 already sends them lowercased).
    var headerList: [(String, String)]
    var body: [UInt8]
    /// When curl had sent the request / saw the first byte of the answer (wall clock, from
    /// curl's own time_pretransfer / time_starttransfer after its spawn): the span in which the
    /// server handled it.
    var sentAt: Double = 0
    var answeredAt: Double = 0

    func header(_ name: String) -> String? {
        let lower = name.lowercased()
        return headerList.last(where: { $0.0 == lower })?.1
    }
    func headers(_ name: String) -> [String] {
        let lower = name.lowercased()
        return headerList.filter { $0.0 == lower }.map(\.1)
    }
    var text: String { String(decoding: body, as: UTF8.self) }
    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:]
    }
    /// `error.code` of either profile's error envelope.
    var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }
    /// `data` of either profile's success envelope.
    var data: [String: Any] { json["data"] as? [String: Any] ?? [:] }
}

/// HTTPS through the stack's nginx with the `curl` CLI, verifying the stack's certificate
/// (the way a careful client would), HTTP/2 when nginx offers it.
struct HTTPSClient {
    var port: Int
    var caFile: String

    func get(_ path: String, headers: [String: String] = [:]) throws -> HTTPSResult {
        try request("GET", path, headers: headers)
    }

    /// `from`: the local address curl connects from (`--interface`), e.g. 127.0.0.2 to be a
    /// client nginx's `allow 127.0.0.1` does not cover.
    func request(_ method: String, _ path: String, headers: [String: String] = [:], body: [UInt8]? = nil,
                 timeout: Double = 20, from: String? = nil) throws -> HTTPSResult {
        let scratch = try TempDir("authgate-curl")
        var args = ["-s", "-S", "--globoff", "--cacert", caFile, "--resolve", "localhost:\(port):127.0.0.1",
                    "--connect-timeout", "5", "--max-time", String(Int(timeout)), "-X", method,
                    "-D", scratch.path + "/headers", "-o", scratch.path + "/body",
                    "-w", "%{http_code} %{time_pretransfer} %{time_starttransfer}"]
        for (name, value) in headers { args += ["-H", "\(name): \(value)"] }
        if let from { args += ["--interface", from] }
        if let body {
            try Data(body).write(to: URL(fileURLWithPath: scratch.path + "/request"))
            args += ["--data-binary", "@" + scratch.path + "/request"]
        }
        args.append("https://localhost:\(port)\(path)")

        // curl's own --max-time bounds the request; the child's deadline is a backstop.
        let spawned = Date().timeIntervalSince1970
        let r = try Child.run("/usr/bin/curl", args, timeout: timeout + 10)
        let written = r.stdout.split(separator: " ")
        guard r.status == 0, written.count == 3, let status = Int(written[0]),
              let pretransfer = Double(written[1]), let starttransfer = Double(written[2]) else {
            throw StackError("curl \(method) \(path): exit \(r.status) \(r.stderr)")
        }
        let rawHeaders = scratch.read("headers")
        var list: [(String, String)] = []
        for line in rawHeaders.split(separator: "\r\n") {
            if line.hasPrefix("HTTP/") { list = []; continue }   // keep the final response only
            guard let colon = line.firstIndex(of: ":") else { continue }
            list.append((line[..<colon].lowercased(),
                         line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        let body = (try? Data(contentsOf: URL(fileURLWithPath: scratch.path + "/body"))).map { [UInt8]($0) } ?? []
        return HTTPSResult(status: status, headerList: list, body: body,
                           sentAt: spawned + pretransfer, answeredAt: spawned + starttransfer)
    }

    /// One request of `parallel`.
    struct Request {
        var method = "GET"
        var path: String
        var headers: [String: String] = [:]
        var body: [UInt8]? = nil
    }

    /// Sends every request at once: one curl, all transfers multiplexed as HTTP/2 streams on one
    /// connection and started together (`--parallel`), so they reach nginx and the responder in
    /// the same instant (separate curl processes are serialized by their spawn and TLS handshake:
    /// measured, they never overlapped). Results in request order; `sentAt`/`answeredAt` are the
    /// curl run's start and end (curl's per-stream timings are not usable for multiplexed
    /// streams): see `Stack.serverSpans` for when nginx held each request.
    func parallel(_ requests: [Request], timeout: Double = 30) throws -> [HTTPSResult] {
        let scratch = try TempDir("authgate-curl")
        var args = ["-s", "-S", "--parallel", "--parallel-max", String(max(1, requests.count))]
        for (i, r) in requests.enumerated() {
            if i > 0 { args.append("--next") }
            args += ["--globoff", "--http2", "--cacert", caFile, "--resolve", "localhost:\(port):127.0.0.1",
                     "--connect-timeout", "5", "--max-time", String(Int(timeout)), "-X", r.method,
                     "-D", scratch.path + "/headers\(i)", "-o", scratch.path + "/body\(i)",
                     "-w", "%{filename_effective} %{http_code}\\n"]
            for (name, value) in r.headers { args += ["-H", "\(name): \(value)"] }
            if let body = r.body {
                try Data(body).write(to: URL(fileURLWithPath: scratch.path + "/request\(i)"))
                args += ["--data-binary", "@" + scratch.path + "/request\(i)"]
            }
            args.append("https://localhost:\(port)\(r.path)")
        }
        let spawned = Date().timeIntervalSince1970
        let run = try Child.run("/usr/bin/curl", args, timeout: timeout + 10)
        let ended = Date().timeIntervalSince1970
        guard run.status == 0 else { throw StackError("curl --parallel: exit \(run.status) \(run.stderr)") }
        var results = [HTTPSResult?](repeating: nil, count: requests.count)
        for line in run.lines {
            let f = line.split(separator: " ")
            guard f.count == 2, let i = Int(f[0].split(separator: "/").last?.dropFirst(4) ?? ""), i < requests.count,
                  let status = Int(f[1]) else { continue }
            var list: [(String, String)] = []
            for h in scratch.read("headers\(i)").split(separator: "\r\n") {
                if h.hasPrefix("HTTP/") { list = []; continue }
                guard let colon = h.firstIndex(of: ":") else { continue }
                list.append((h[..<colon].lowercased(), h[h.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
            }
            let body = (try? Data(contentsOf: URL(fileURLWithPath: scratch.path + "/body\(i)"))).map { [UInt8]($0) } ?? []
            results[i] = HTTPSResult(status: status, headerList: list, body: body,
                                     sentAt: spawned, answeredAt: ended)
        }
        guard results.allSatisfy({ $0 != nil }) else {
            throw StackError("curl --parallel answered \(results.compactMap { $0 }.count) of \(requests.count): \(run.stdout) \(run.stderr)")
        }
        return results.map { $0! }
    }
}
