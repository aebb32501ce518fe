import AuthCore
import AuthCrypto
import CEpoll
#if canImport(Glibc)
import Glibc
#endif

/// The upgrade: client request → checks → upstream connect → upstream 101 → client 101.
extension Companion {
    static let websocketGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    public static func acceptValue(key: String) -> String {
        Base64.encode(Crypto.sha1(Array((key + websocketGUID).utf8)))
    }

    func readRequest(_ c: Connection) {
        guard case var .readingRequest(parser) = c.phase else { return }
        let buf = UnsafeMutableRawBufferPointer(rebasing: scratch[0..<4096])
        switch NonBlocking.read(c.clientFD, into: buf) {
        case .wouldBlock:
            return
        case .done(0), .failed:
            finish(c)
        case let .done(n):
            let result = parser.feed(UnsafeRawBufferPointer(rebasing: buf[0..<n]))
            c.phase = .readingRequest(parser)
            switch result {
            case .needMore:
                return
            case .failed:
                reject(c, .invalidRequest("malformed upgrade request"))
            case let .complete(head, consumed):
                if consumed < n {
                    reject(c, .invalidRequest("data before the upgrade completed"))
                } else {
                    startUpgrade(c, head)
                }
            }
        }
    }

    func startUpgrade(_ c: Connection, _ head: HTTPHead) {
        let key = head.value("sec-websocket-key") ?? ""
        guard head.method == "GET", head.tokens("upgrade").contains("websocket"),
              head.tokens("connection").contains("upgrade"), head.value("sec-websocket-version") == "13",
              head.count("sec-websocket-key") == 1, Base64.decode(key)?.count == 16, head.count("host") <= 1,
              !Self.carriesBody(head)
        else {
            reject(c, .invalidRequest("not a WebSocket upgrade"))
            return
        }
        guard let route = routes.route(for: head.path) else {
            reject(c, .notFound)
            return
        }
        let (queryToken, query) = Self.splitToken(head.query)
        // No ?token=: the browser's access cookie (then no token is in any URL), accepted only
        // from the site's own origin or a listed one (cross-site WebSocket hijacking).
        let cookieToken = queryToken == nil ? Cookies.value(settings.browser.accessCookie, in: head.value("cookie")) : nil
        if cookieToken != nil,
           !Origins(settings.browser).allowsUpgrade(origin: head.value("origin"), host: head.value("host")) {
            logger.info("ws refused route=\(route.path) status=403 code=forbidden (cookie upgrade from another origin)")
            reject(c, .forbidden("cross-site WebSocket refused"))
            return
        }
        let token = queryToken ?? cookieToken
        let (wallNow, monoNow) = (wallMillis(), monoMillis())
        switch auth.authorize(token: token, route: route, now: wallNow / 1000) {
        case let .failure(error):
            logger.info("ws refused route=\(route.path) status=\(error.status) code=\(error.code)")
            reject(c, error, tokenSent: token != nil)
            return
        case let .success(identity):
            if let refusal = Self.tenantRefusal(head.query, identity: identity) {
                logger.info("ws refused route=\(route.path) status=403 code=\(refusal.code) (tenant_id)")
                reject(c, refusal)
                return
            }
            var id = identity
            id.expMonoMillis = monoNow + (identity.exp * 1000 - wallNow)
            c.identity = id
        }
        c.route = route
        c.expectedAccept = Self.acceptValue(key: key)
        c.offeredProtocols = head.tokens("sec-websocket-protocol")
        c.c2u.out = Self.forwardedRequest(head, path: String(head.path), query: query, identity: c.identity!,
                                          dropCookies: [settings.browser.accessCookie, settings.browser.refreshCookie])
        connectUpstream(c, route.upstream)
    }

    /// Removes every `token` parameter (any spelling a framework reads as `token`, through the
    /// shared `Query` parser); returns the token (nil when absent, repeated, disguised or
    /// malformed) and the rest of the query, re-joined with `&` exactly as it was parsed.
    static func splitToken(_ query: Substring) -> (String?, String) {
        var tokens: [String?] = []
        var rest = ""
        for p in Query.parameters(query) {
            if Query.frameworkName(p.name) == "token" {
                tokens.append(p.name == "token" ? Query.decode(p.value ?? "") : nil)
                continue
            }
            if !rest.isEmpty { rest += "&" }
            rest += p.pair
        }
        return (tokens.count == 1 ? tokens[0] : nil, rest)
    }

    /// `?tenant_id=` on an upgrade: the same rule as the gate (`Query.tenant`); a WebSocket acts in
    /// the token's own tenant only (cross-tenant WebSockets are not supported), so any other is 403.
    static func tenantRefusal(_ query: Substring, identity: WSIdentity) -> AuthError? {
        switch Query.tenant(query) {
        case let .failure(refusal): return refusal.authError
        case let .success(tenant?) where tenant != identity.tenantID: return .forbidden("not allowed for this tenant")
        case .success: return nil
        }
    }

    /// Headers that belong to one hop (RFC 9110 7.6.1) or to a body: never forwarded. The
    /// upgrade's own `Upgrade`/`Connection` are written fresh.
    static let hopByHop: Set<String> = ["connection", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade",
                                        "content-length", "sec-websocket-extensions"]

    /// Lowercased, `_` as `-`: nginx and many frameworks treat `X_Auth_Role` like `X-Auth-Role`.
    static func canonicalHeaderName(_ name: String) -> String {
        String(name.lowercased().map { $0 == "_" ? "-" : $0 })
    }

    static func forwardedRequest(_ head: HTTPHead, path: String, query: String, identity: WSIdentity,
                                 dropCookies: Set<String> = []) -> [UInt8] {
        var text = "GET \(path)\(query.isEmpty ? "" : "?" + query) HTTP/1.1\r\n"
        let listed = Set(head.tokens("connection").map(canonicalHeaderName))
        for h in head.headers {
            let name = canonicalHeaderName(h.name)
            if name.hasPrefix("x-auth-") || name.hasPrefix("proxy-") || hopByHop.contains(name) || listed.contains(name) {
                continue
            }
            if name == "cookie" {
                // Authgate's own cookies are credentials: the upstream app never receives them.
                if let kept = Cookies.removing(dropCookies, from: h.value) { text += "\(h.name): \(kept)\r\n" }
                continue
            }
            text += "\(h.name): \(h.value)\r\n"
        }
        text += "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        // The identity: the one field list (Identity.Field), as nginx's verify answer names it.
        identity.identity.forEachField { field, value in text += "\(field.header): \(value)\r\n" }
        text += "\r\n"
        return Array(text.utf8)
    }

    /// An upgrade has no body: a `Transfer-Encoding` or a non-zero `Content-Length` would put
    /// body bytes where frames are expected (request smuggling towards the upstream).
    static func carriesBody(_ head: HTTPHead) -> Bool {
        head.headers.contains { h in
            let name = canonicalHeaderName(h.name)
            return name == "transfer-encoding" || (name == "content-length" && h.value != "0")
        }
    }

    func connectUpstream(_ c: Connection, _ upstream: Upstream) {
        let family: Int32
        switch upstream {
        case .unix: family = AF_UNIX
        case let .tcp(host, _): family = host.contains(":") ? AF_INET6 : AF_INET
        }
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else {
            reject(c, Self.badGateway)
            return
        }
        c.upstreamFD = fd
        track(c, fd)
        var rc: Int32
        repeat {
            switch upstream {
            case let .unix(path): rc = authgate_unix_connect(fd, path)
            case let .tcp(host, port): rc = authgate_inet_connect(fd, family, host, Int32(port))
            }
        } while rc < 0 && errno == EINTR
        let err = errno
        if rc == 0 {
            c.phase = .awaitingUpstream(HTTPUpgradeParser(kind: .response))
            c.upstreamMask = EventLoop.readable | EventLoop.writable
        } else if err == EINPROGRESS {
            c.phase = .connecting
            c.upstreamMask = EventLoop.writable
        } else {
            logger.error("ws upstream \(upstream) connect failed: errno \(err)")
            reject(c, Self.badGateway)
            return
        }
        do {
            try loop.add(fd, c.upstreamMask)
        } catch {
            reject(c, Self.badGateway)
        }
    }

    static let badGateway = AuthError(status: 502, code: "unavailable", message: "upstream unavailable")

    func upstreamConnected(_ c: Connection) {
        let err = authgate_socket_error(c.upstreamFD)
        guard err == 0 else {
            logger.error("ws upstream \(c.route.map { "\($0.upstream)" } ?? "-") connect failed: errno \(err)")
            reject(c, Self.badGateway)
            return
        }
        c.phase = .awaitingUpstream(HTTPUpgradeParser(kind: .response))
        flush(c, to: .upstream)
    }

    func readUpstreamResponse(_ c: Connection) {
        guard case var .awaitingUpstream(parser) = c.phase else { return }
        let buf = UnsafeMutableRawBufferPointer(rebasing: scratch[0..<min(Pipe.maxBuffered, scratch.count)])
        switch NonBlocking.read(c.upstreamFD, into: buf) {
        case .wouldBlock:
            return
        case .done(0), .failed:
            reject(c, Self.badGateway)
        case let .done(n):
            let result = parser.feed(UnsafeRawBufferPointer(rebasing: buf[0..<n]))
            c.phase = .awaitingUpstream(parser)
            switch result {
            case .needMore:
                return
            case .failed:
                reject(c, Self.badGateway)
            case let .complete(head, consumed):
                guard let reply = switchingProtocols(c, head) else {
                    logger.error("ws upstream refused the upgrade (status \(head.status))")
                    reject(c, Self.badGateway)
                    return
                }
                c.phase = .relaying
                c.opened = true
                c.deadline = 0
                c.c2u.out = []
                c.u2c.out = reply
                if let id = c.identity {
                    logger.info("ws open user=\(id.userID) session=\(id.sessionID) route=\(c.route?.path ?? "-")")
                }
                // Frames the upstream sent right after its 101.
                let rest = UnsafeRawBufferPointer(rebasing: buf[consumed..<n])
                do {
                    let forward = try c.u2c.scan(rest)
                    c.u2c.out.append(contentsOf: rest[0..<forward])
                } catch {
                    c.closeReason = "1002 (upstream protocol error)"
                    finish(c)
                    return
                }
                flush(c, to: .client)
            }
        }
    }

    /// The client's 101, when the upstream's answer is a valid WebSocket acceptance for this key.
    func switchingProtocols(_ c: Connection, _ head: HTTPHead) -> [UInt8]? {
        guard head.status == 101, head.tokens("upgrade").contains("websocket"),
              head.tokens("connection").contains("upgrade"),
              head.value("sec-websocket-accept") == c.expectedAccept,
              head.value("sec-websocket-extensions") == nil
        else { return nil }
        var text = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        text += "Sec-WebSocket-Accept: \(c.expectedAccept)\r\n"
        if let proto = head.value("sec-websocket-protocol") {
            guard c.offeredProtocols.contains(proto.lowercased()) else { return nil }
            text += "Sec-WebSocket-Protocol: \(proto)\r\n"
        }
        return Array((text + "\r\n").utf8)
    }

    /// Answers an HTTP error before any upgrade and closes once it is written.
    func reject(_ c: Connection, _ error: AuthError, tokenSent: Bool = true) {
        if c.upstreamFD >= 0 {
            loop.remove(c.upstreamFD)
            track(nil, c.upstreamFD)
            close(c.upstreamFD)
            c.upstreamFD = -1
        }
        let body = settings.profile.error(code: error.code, message: error.message).encoded()
        var text = "HTTP/1.1 \(error.status) \(Self.reasonPhrase(error.status))\r\n"
        text += "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n"
        text += "Cache-Control: no-store\r\nConnection: close\r\n"
        if error.code == AuthError.mfaRequired.code {
            text += "WWW-Authenticate: Bearer error=\"insufficient_user_authentication\"\r\n"
        } else if error.status == 401 { text += tokenSent ? "WWW-Authenticate: Bearer error=\"invalid_token\"\r\n" : "WWW-Authenticate: Bearer\r\n" }
        for (name, value) in error.headers where name.lowercased() != "www-authenticate" { text += "\(name): \(value)\r\n" }
        c.identity = c.opened ? c.identity : nil
        c.phase = .closing
        c.deadline = monoMillis() + Self.closingMillis
        c.c2u = Pipe(source: .client)
        c.c2u.sealed = true
        c.u2c = Pipe(source: .server)
        c.u2c.out = Array((text + "\r\n").utf8) + body
        c.u2c.sealed = true
        flush(c, to: .client)
    }

    static func reasonPhrase(_ status: Int) -> String {
        switch status {
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 502: "Bad Gateway"
        default: "Error"
        }
    }
}
