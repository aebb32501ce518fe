import Foundation

/// One HTTP response as a client saw it.
struct HTTPSResult {
    var status: Int
    /// Header lines in order, names lowercased (HTTP/2 already sends them lowercased).
    var headerList: [(String, String)]
    var body: [UInt8]

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

/// Unique numbers for scratch paths (process-wide).
enum ScratchCounter {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var value = 0
    static func next() -> Int { lock.withLock { value += 1; return value } }
}

/// HTTPS through the stack's nginx with the `curl` CLI, verifying the stack's certificate
/// (the way a careful client would), HTTP/2 when nginx offers it.
struct HTTPSClient {
    var port: Int
    var caFile: String

    func get(_ path: String, headers: [String: String] = [:]) throws -> HTTPSResult {
        try request("GET", path, headers: headers)
    }

    func request(_ method: String, _ path: String, headers: [String: String] = [:], body: [UInt8]? = nil,
                 timeout: Double = 20) throws -> HTTPSResult {
        // A per-process counter too: scratch dirs of parallel requests must never collide.
        let scratch = NSTemporaryDirectory() + "authgate-curl-\(getpid())-\(ScratchCounter.next())-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        var args = ["-s", "-S", "--cacert", caFile, "--resolve", "localhost:\(port):127.0.0.1",
                    "--max-time", String(Int(timeout)), "-X", method,
                    "-D", scratch + "/headers", "-o", scratch + "/body", "-w", "%{http_code}"]
        for (name, value) in headers { args += ["-H", "\(name): \(value)"] }
        if let body {
            try Data(body).write(to: URL(fileURLWithPath: scratch + "/request"))
            args += ["--data-binary", "@" + scratch + "/request"]
        }
        args.append("https://localhost:\(port)\(path)")

        let p = try Stack.launchRedirected("/usr/bin/curl", args, stdout: scratch + "/status", stderr: scratch + "/stderr")
        p.waitUntilExit()
        let code = (try? String(contentsOfFile: scratch + "/status", encoding: .utf8)) ?? ""
        guard p.terminationStatus == 0, let status = Int(code) else {
            let errText = (try? String(contentsOfFile: scratch + "/stderr", encoding: .utf8)) ?? ""
            throw StackError("curl \(method) \(path): exit \(p.terminationStatus) \(errText)")
        }
        let rawHeaders = (try? String(contentsOfFile: scratch + "/headers", encoding: .utf8)) ?? ""
        var list: [(String, String)] = []
        for line in rawHeaders.split(separator: "\r\n") {
            if line.hasPrefix("HTTP/") { list = []; continue }   // keep the final response only
            guard let colon = line.firstIndex(of: ":") else { continue }
            list.append((line[..<colon].lowercased(),
                         line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        let body = (try? Data(contentsOf: URL(fileURLWithPath: scratch + "/body"))).map { [UInt8]($0) } ?? []
        return HTTPSResult(status: status, headerList: list, body: body)
    }
}
