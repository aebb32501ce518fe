import AuthCrypto

/// The two documented response shapes (CONTRACT.md "Envelopes").
public enum APIProfile: String, Sendable {
    case twoSignal = "2signal"
    case get2dial = "get2dial"

    public func success(_ data: JSON) -> JSON {
        switch self {
        case .twoSignal: .object([("data", data), ("error", .null)])
        case .get2dial: .object([("status", .string("success")), ("data", data)])
        }
    }

    public func error(code: String, message: String) -> JSON {
        let err = JSON.object([("code", .string(code)), ("message", .string(message))])
        switch self {
        case .twoSignal: return .object([("data", .null), ("error", err)])
        case .get2dial: return .object([("status", .string("error")), ("error", err)])
        }
    }

    public func respond(_ status: Int, _ data: JSON) -> Response {
        .json(status, success(data).encoded())
    }

    public func respond(_ error: AuthError) -> Response {
        var headers = error.headers
        if error.code == "invalid_token" && !headers.contains(where: { $0.0 == "WWW-Authenticate" }) {
            headers.append(("WWW-Authenticate", "Bearer error=\"invalid_token\""))
        }
        var response = Response.json(error.status, self.error(code: error.code, message: error.message).encoded(), headers: headers)
        response.outcome = error.outcome
        return response
    }
}
