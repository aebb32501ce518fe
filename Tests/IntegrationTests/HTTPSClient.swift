import Foundation
import TestSupport

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
        let scratch = try TempDir("authgate-curl")
        var args = ["-s", "-S", "--cacert", caFile, "--resolve", "localhost:\(port):127.0.0.1",
                    "--connect-timeout", "5", "--max-time", String(Int(timeout)), "-X", method,
                    "-D", scratch.path + "/headers", "-o", scratch.path + "/body", "-w", "%{http_code}"]
        for (name, value) in headers { args += ["-H", "\(name): \(value)"] }
        if let body {
            try Data(body).write(to: URL(fileURLWithPath: scratch.path + "/request"))
            args += ["--data-binary", "@" + scratch.path + "/request"]
        }
        args.append("https://localhost:\(port)\(path)")

        // curl's own --max-time bounds the request; the child's deadline is a backstop.
        let r = try Child.run("/usr/bin/curl", args, timeout: timeout + 10)
        guard r.status == 0, let status = Int(r.stdout) else {
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
        return HTTPSResult(status: status, headerList: list, body: body)
    }
}
