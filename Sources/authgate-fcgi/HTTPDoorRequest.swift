import AuthCore
import AuthHTTP

/// One request of the HTTP verify door, read by the connection reader, for a worker: the
/// transport-free `Request` (always a verify) and whether the connection closes after it.
struct HTTPDoorRequest: Sendable {
    var request: Request
    /// The answer says `Connection: close` and the connection is closed once it is written.
    var close: Bool
    var logPath: String
    var requestID: String
}

/// A request head the door does not serve: answered at once by the reader, then closed.
struct HTTPDoorRefusal: Error, Sendable, Equatable {
    var status: Int
    var code: String
}

/// A complete request head -> a verify `Request`, or a refusal. The strict subset:
/// - `GET`/`HEAD` of the door's path (AUTH_VERIFY_HTTP_PATH), HTTP/1.1 only;
/// - no body: a `Content-Length` other than 0, or any `Transfer-Encoding` -> 400 (and close: the
///   body's bytes would otherwise be read as the next request);
/// - the policy only from `X-Authgate-Allow` / `X-Authgate-Roles` / `X-Authgate-Require-AAL` (the
///   snippet sets them and nginx drops a client's copy of a header it sets), each at most once,
///   unless the door has a fixed one (AUTH_VERIFY_HTTP_ALLOW, AUTH_VERIFY_HTTP_REQUIRE_AAL);
///   `X-Authgate-Require-AAL: 2` is the FastCGI door's `AUTH_REQUIRE_AAL 2` (any other value, or
///   none: level 1 is enough);
/// - the original URI and method from the headers AUTH_VERIFY_HTTP_URI names, each exactly once,
///   never from whichever happen to be present;
/// - those headers never reach the verifier as request headers.
enum HTTPDoorRequestReader {
    static let allowHeader = "x-authgate-allow"
    static let rolesHeader = "x-authgate-roles"
    static let aalHeader = "x-authgate-require-aal"

    static func read(_ head: HTTPHead, config: HTTPDoorConfig, served: Int) -> Result<HTTPDoorRequest, HTTPDoorRefusal> {
        guard head.version == "HTTP/1.1" else { return .failure(.init(status: 400, code: "http_version")) }
        guard head.method == "GET" || head.method == "HEAD" else { return .failure(.init(status: 405, code: "method_not_allowed")) }
        guard pathOf(head.target) == config.path else { return .failure(.init(status: 404, code: "not_found")) }

        let names = config.uriSource == .forwarded ? forwardedNames : originalNames
        var headers: [String: String] = [:]
        headers.reserveCapacity(head.headers.count)
        var uri: String?, method: String?, host: String?, allow: String?, roles: String?, aal: String?
        var client = "", requestID = ""
        var close = false
        for header in head.headers {
            // The name's meaning from its bytes (ASCII case-insensitive): no lowercased copy, no
            // String comparison per case (the door's verify path; the generic rule is held by
            // VerifyHotPathDoorRuleTests).
            var name = header.name
            let slot = name.withUTF8 { names.slot(of: $0) }
            // Each of these counts once; a second copy is a request nobody can read one way only.
            func once(_ slot: inout String?) -> Bool {
                guard slot == nil else { return false }
                slot = header.value
                return true
            }
            switch slot {
            case .contentLength:
                guard header.value == "0" else { return .failure(.init(status: 400, code: "body_not_allowed")) }
            case .transferEncoding:
                return .failure(.init(status: 400, code: "body_not_allowed"))
            case .connection:
                if header.value.split(separator: ",").contains(where: { $0.trimmingSpaces().lowercased() == "close" }) { close = true }
            case .allow:
                guard once(&allow) else { return .failure(.init(status: 400, code: "duplicate_header")) }
            case .roles:
                guard once(&roles) else { return .failure(.init(status: 400, code: "duplicate_header")) }
            case .aal:
                guard once(&aal) else { return .failure(.init(status: 400, code: "duplicate_header")) }
            case .uri:
                guard once(&uri) else { return .failure(.init(status: 400, code: "duplicate_header")) }
            case .method:
                guard once(&method) else { return .failure(.init(status: 400, code: "duplicate_header")) }
            case .host:
                guard once(&host) else { return .failure(.init(status: 400, code: "duplicate_header")) }
            case .client:
                client = header.value
            case .requestID:
                requestID = header.value
            case .ignored:
                // The other convention's headers, and any other X-Authgate-*: whoever sent them,
                // they mean nothing here.
                break
            case .other:
                let key = name.lowercasedASCII()
                if headers[key] == nil { headers[key] = header.value }   // first wins, as in the FastCGI door
            }
        }
        guard let uri, uri.hasPrefix("/"), let method, !method.isEmpty,
              method.utf8.allSatisfy({ $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") })
        else { return .failure(.init(status: 400, code: "missing_original_uri")) }
        if let host { headers["host"] = host }
        if config.uriSource == .forwarded, let last = client.split(separator: ",").last {
            client = last.trimmingSpaces()
        }

        let (path, query) = uri.splitAtQuestionMark()
        let policy = config.fixedAllow != nil
            ? VerifyPolicy(allow: config.fixedAllow, roles: config.fixedRoles, requireAAL: config.fixedRequireAAL)
            : VerifyPolicy(allow: allow, roles: roles, requireAAL: aal == "2" ? 2 : 1)
        let request = Request(method: method, path: path, query: query, headers: headers, remoteAddress: client, verify: policy)
        return .success(HTTPDoorRequest(request: request, close: close || served >= config.maxRequests,
                                        logPath: config.path, requestID: requestID))
    }

    /// What a request header means to the door.
    enum Slot: Equatable {
        case contentLength, transferEncoding, connection, allow, roles, aal, uri, method, host, client, requestID
        /// Dropped: the other convention's URI/method/host headers and every other `x-authgate-*`.
        case ignored
        /// Passed on to the verifier under its lowercased name.
        case other
    }

    /// The names the door reads under one `AUTH_VERIFY_HTTP_URI`, with their slots, in the
    /// order the door tries them (the first equal one counts).
    struct Names {
        let table: HTTPHeaderNameTable
        let slots: [Slot]

        init(uriSource: HTTPDoorConfig.URISource) {
            let forwarded = uriSource == .forwarded
            let mine: [(String, Slot)] = [
                ("content-length", .contentLength), ("transfer-encoding", .transferEncoding), ("connection", .connection),
                (allowHeader, .allow), (rolesHeader, .roles), (aalHeader, .aal),
                (forwarded ? "x-forwarded-uri" : "x-original-uri", .uri),
                (forwarded ? "x-forwarded-method" : "x-original-method", .method),
                (forwarded ? "x-forwarded-host" : "host", .host), (forwarded ? "x-forwarded-for" : "x-real-ip", .client),
                ("x-request-id", .requestID),
            ] + ["x-original-uri", "x-original-method", "x-forwarded-uri", "x-forwarded-method", "host", "x-forwarded-host"]
                .map { ($0, Slot.ignored) }
            table = HTTPHeaderNameTable(mine.map(\.0))
            slots = mine.map(\.1)
        }

        /// The slot of the first equal name; else `ignored` for an `x-authgate-*` name, `other`.
        func slot(of name: UnsafeBufferPointer<UInt8>) -> Slot {
            if let i = table.index(of: name) { return slots[i] }
            return HTTPHeaderNameTable.hasPrefix(name, lowercased: Self.authgatePrefix) ? .ignored : .other
        }

        static let authgatePrefix = Array("x-authgate-".utf8)
    }

    static let originalNames = Names(uriSource: .original)
    static let forwardedNames = Names(uriSource: .forwarded)

    /// `target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)[0]`.
    static func pathOf(_ target: String) -> Substring {
        target.splitAtQuestionMark().before[...]
    }
}
