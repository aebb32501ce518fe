import AuthCore
import AuthCrypto

/// Who a relayed connection belongs to, taken from the verified token.
struct WSIdentity {
    /// What the Gate allowed: the one field list the upstream request carries.
    var identity: Identity
    /// `exp` on the monotonic clock (`monoMillis()`), fixed at the upgrade: a step of the wall
    /// clock backwards must not stretch the socket past the lifetime the token had left then.
    var expMonoMillis: Int64 = .max

    init(_ identity: Identity) { self.identity = identity }

    init(userID: String, tenantID: String, role: String, email: String, sessionID: String, iat: Int64, exp: Int64) {
        identity = .user(AccessClaims(iss: "", aud: "", sub: userID, tid: tenantID, email: email, role: role,
                                      sid: sessionID, jti: "", iat: iat, exp: exp), tenant: tenantID)
    }

    var userID: String { identity[.userID] ?? "" }
    var sessionID: String { identity[.sessionID] ?? "" }
    var tenantID: String { identity[.tenantID] ?? "" }
    var exp: Int64 { identity.expires }
}

/// One client connection and, once authorized, its upstream connection.
final class Connection {
    enum Phase {
        /// Reading the client's upgrade request.
        case readingRequest(HTTPUpgradeParser)
        /// Non-blocking connect to the upstream in progress.
        case connecting
        /// Upgrade request sent upstream; reading its response.
        case awaitingUpstream(HTTPUpgradeParser)
        case relaying
        /// Flushing what is left (an error response or close frames), then closing.
        case closing
    }

    let clientFD: Int32
    var upstreamFD: Int32 = -1
    var phase: Phase = .readingRequest(HTTPUpgradeParser(kind: .request))
    /// Monotonic deadline of the current phase (handshake or closing), 0 when none.
    var deadline: Int64
    var c2u = Pipe(source: .client)
    var u2c = Pipe(source: .server)
    var identity: WSIdentity?
    var route: WSRoute?
    var expectedAccept = ""
    var offeredProtocols: [String] = []
    /// Close code for the log line when the companion decides it (4001, 4003, 1001, 1002...).
    var closeReason: String?
    var clientMask: UInt32 = 0
    var upstreamMask: UInt32 = 0
    var opened = false
    /// False once `finish` has closed both fds (cheaper than a dictionary lookup per event).
    var alive = true

    init(clientFD: Int32, deadline: Int64) {
        self.clientFD = clientFD
        self.deadline = deadline
    }

    var isRelaying: Bool {
        if case .relaying = phase { return true }
        return false
    }
}
