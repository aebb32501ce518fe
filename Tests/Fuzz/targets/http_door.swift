// The HTTP verify door's request reading (AuthHTTP's head parser + authgate-fcgi's
// HTTPDoorRequestReader), as the connection reader drives it: a fresh parser per request, the
// bytes past a complete head start the next one (pipelining), input-chosen chunks.
// Invariants: `consumed` lies inside the chunk; the same bytes in one piece or in chunks give the
// same sequence of requests and refusals; a request never carries a policy or original-URI
// header among its headers, its path starts with "/", its method is upper-case letters; a
// refusal is 400/404/405 with a code.
import AuthCore
import AuthHTTP

struct StartupError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

func drive(_ chunks: [[UInt8]], config: HTTPDoorConfig) -> [String] {
    var out: [String] = []
    var parser = HTTPUpgradeParser(kind: .request, maxHeadSize: 2048, maxHeaders: config.maxHeaders)
    var served = 0
    var pending = chunks
    while !pending.isEmpty && out.count < 16 {
        let chunk = pending.removeFirst()
        switch parser.feed(chunk) {
        case .needMore:
            continue
        case let .failed(e):
            out.append("failed \(e == .tooLarge ? "tooLarge" : "malformed")")
            return out
        case let .complete(head, consumed):
            fuzzCheck(consumed >= 0 && consumed <= chunk.count, "consumed \(consumed) of \(chunk.count)")
            served += 1
            switch HTTPDoorRequestReader.read(head, config: config, served: served) {
            case let .failure(refusal):
                fuzzCheck([400, 404, 405].contains(refusal.status) && !refusal.code.isEmpty, "refusal \(refusal)")
                out.append("refused \(refusal.status) \(refusal.code)")
                return out
            case let .success(door):
                let r = door.request
                fuzzCheck(r.path.hasPrefix("/"), "path \(r.path)")
                fuzzCheck(!r.method.isEmpty && r.method.utf8.allSatisfy { $0 >= 65 && $0 <= 90 }, "method \(r.method)")
                for name in r.headers.keys {
                    fuzzCheck(!name.hasPrefix("x-authgate-") && name != "x-original-uri" && name != "x-original-method"
                              && name != "content-length" && name != "transfer-encoding", "header \(name) reached the verifier")
                }
                fuzzCheck(r.verify != nil, "a door request is always a verify")
                out.append("request \(r.method) \(r.path)?\(r.query) close=\(door.close) \(r.headers.sorted { $0.key < $1.key })")
                if door.close { return out }
            }
            parser = HTTPUpgradeParser(kind: .request, maxHeadSize: 2048, maxHeaders: config.maxHeaders)
            let rest = Array(chunk[consumed...])
            if !rest.isEmpty { pending.insert(rest, at: 0) }
        }
    }
    return out
}

func fuzzOne(_ bytes: [UInt8]) {
    var config = HTTPDoorConfig()
    config.maxHeaders = 16
    config.maxRequests = 4
    if let first = bytes.first, first & 1 == 1 { config.uriSource = .forwarded }
    let a = drive(fuzzChunks(bytes), config: config)
    let b = drive([Array(bytes.dropFirst())], config: config)
    fuzzCheck(a == b, "split-dependent result: \(a) vs \(b)")
}
