// FastCGI params -> Request: the input is a NUL-separated list of NAME=VALUE entries (what
// libfcgi's envp holds). Invariants: path never holds the query; a verify request only when
// AUTH_VERIFY was sent; the request then goes through the verify route, which answers only
// 204/401/403.
@testable import AuthCore
@testable import AuthCrypto
import Foundation

final class Harness: @unchecked Sendable {
    let worker: Worker
    init() {
        let dir = NSTemporaryDirectory() + "authgate-fuzz-fcgi-\(getpid())"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        _ = try! KeyRing.rotate(path: "\(dir)/keys")
        let env = ["AUTH_DB_PATH": "\(dir)/db.sqlite", "AUTH_KEYS_FILE": "\(dir)/keys", "AUTH_SCRYPT": "ln=1,r=1,p=1"]
        worker = try! App(settings: try! Settings(environment: env)).makeWorker()
    }
}
let harness = Harness()

func fuzzOne(_ bytes: [UInt8]) {
    var entries = bytes.split(separator: 0, omittingEmptySubsequences: true).map { Array($0) + [0] }
    var pointers: [UnsafeMutablePointer<CChar>?] = entries.indices.map { i in
        entries[i].withUnsafeMutableBufferPointer { b in
            let p = UnsafeMutablePointer<CChar>.allocate(capacity: b.count)
            b.withMemoryRebound(to: CChar.self) { p.initialize(from: $0.baseAddress!, count: b.count) }
            return p
        }
    }
    pointers.append(nil)
    defer { for p in pointers { p?.deallocate() } }
    entries.removeAll()
    let params = pointers.withUnsafeMutableBufferPointer { FastCGIParams(envp: $0.baseAddress) }
    let request = params.makeRequest()
    fuzzCheck(!request.path.contains("?") || params.requestURI.isEmpty, "query left in path \(request.path)")
    // The access line never holds REQUEST_URI's query (DOCUMENT_URI is nginx's decoded $uri, set by nginx).
    if let mark = params.requestURI.firstIndex(of: "?"), !params.isVerify {
        fuzzCheck(params.logPath == String(params.requestURI[..<mark]), "query in log path")
    }
    if request.verify != nil {
        let r = harness.worker.handle(request)
        fuzzCheck([204, 401, 403].contains(r.status), "verify answered \(r.status)")
    } else if request.path.hasPrefix("/api/") {
        let r = harness.worker.handle(request)
        fuzzCheck(r.status < 500 || r.status == 503, "\(r.status) for \(request.method) \(request.path)")
    }
}
