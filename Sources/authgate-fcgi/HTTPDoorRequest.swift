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
        let target = head.target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)[0]
        guard target == config.path else { return .failure(.init(status: 404, code: "not_found")) }

        let uriName: String, methodName: String
        switch config.uriSource {
        case .original: uriName = "x-original-uri"; methodName = "x-original-method"
        case .forwarded: uriName = "x-forwarded-uri"; methodName = "x-forwarded-method"
        }
        let hostName = config.uriSource == .forwarded ? "x-forwarded-host" : "host"
        let clientName = config.uriSource == .forwarded ? "x-forwarded-for" : "x-real-ip"

        var headers: [String: String] = [:]
        headers.reserveCapacity(head.headers.count)
        var uri: String?, method: String?, host: String?, allow: String?, roles: String?, aal: String?
        var client = "", requestID = ""
        var close = false
        for header in head.headers {
            let name = header.name.lowercased()
            // Each of these counts once; a second copy is a request nobody can read one way only.
            func once(_ slot: inout String?) -> Bool {
                guard slot == nil else { return false }
                slot = header.value
                return true
            }
            switch name {
            case "content-length":
                guard header.value == "0" else { return .failure(.init(status: 400, code: "body_not_allowed")) }
                continue
            case "transfer-encoding":
                return .failure(.init(status: 400, code: "body_not_allowed"))
            case "connection":
                if header.value.split(separator: ",").contains(where: { $0.trimmingSpaces().lowercased() == "close" }) { close = true }
                continue
            case allowHeader:
                guard once(&allow) else { return .failure(.init(status: 400, code: "duplicate_header")) }
                continue
            case rolesHeader:
                guard once(&roles) else { return .failure(.init(status: 400, code: "duplicate_header")) }
                continue
            case aalHeader:
                guard once(&aal) else { return .failure(.init(status: 400, code: "duplicate_header")) }
                continue
            case uriName:
                guard once(&uri) else { return .failure(.init(status: 400, code: "duplicate_header")) }
                continue
            case methodName:
                guard once(&method) else { return .failure(.init(status: 400, code: "duplicate_header")) }
                continue
            case hostName:
                guard once(&host) else { return .failure(.init(status: 400, code: "duplicate_header")) }
                continue
            case clientName:
                client = header.value
                continue
            case "x-request-id":
                requestID = header.value
                continue
            case "x-original-uri", "x-original-method", "x-forwarded-uri", "x-forwarded-method", "host", "x-forwarded-host":
                // The other convention's headers: whoever sent them, they mean nothing here.
                continue
            default:
                if name.hasPrefix("x-authgate-") { continue }
                if headers[name] == nil { headers[name] = header.value }   // first wins, as in the FastCGI door
            }
        }
        guard let uri, uri.hasPrefix("/"), let method, !method.isEmpty,
              method.utf8.allSatisfy({ $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") })
        else { return .failure(.init(status: 400, code: "missing_original_uri")) }
        if let host { headers["host"] = host }
        if config.uriSource == .forwarded, let last = client.split(separator: ",").last {
            client = last.trimmingSpaces()
        }

        var path = uri
        var query = ""
        if let mark = uri.firstIndex(of: "?") {
            path = String(uri[..<mark])
            query = String(uri[uri.index(after: mark)...])
        }
        let policy = config.fixedAllow != nil
            ? VerifyPolicy(allow: config.fixedAllow, roles: config.fixedRoles, requireAAL: config.fixedRequireAAL)
            : VerifyPolicy(allow: allow, roles: roles, requireAAL: aal == "2" ? 2 : 1)
        let request = Request(method: method, path: path, query: query, headers: headers, remoteAddress: client, verify: policy)
        return .success(HTTPDoorRequest(request: request, close: close || served >= config.maxRequests,
                                        logPath: config.path, requestID: requestID))
    }
}
