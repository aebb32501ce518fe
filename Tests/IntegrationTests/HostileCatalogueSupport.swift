@testable import AuthCrypto
import Foundation

/// One hostile request of the catalogue and what it must get.
struct HostileCase {
    var name: String
    var raw: [UInt8]
    var status: Int
    /// `error.code` of the JSON answer; nil: not checked (a 2xx, or nginx's plain answer).
    var code: String?
}

/// Builders for the catalogue's requests (raw bytes: nothing normalizes them on the way).
enum Hostile {
    static func request(_ method: String, _ target: String, headers: [(String, String)] = [], body: [UInt8]? = nil,
                        contentLength: Bool = true) -> [UInt8] {
        var head = Array("\(method) \(target) HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n".utf8)
        for (k, v) in headers { head += Array("\(k): ".utf8) + Array(v.utf8) + [13, 10] }
        if let body, contentLength { head += Array("Content-Length: \(body.count)\r\n".utf8) }
        return head + [13, 10] + (body ?? [])
    }

    static func json(_ path: String, _ body: [UInt8], bearer: String? = nil, type: String? = "application/json") -> [UInt8] {
        var h: [(String, String)] = []
        if let type { h.append(("Content-Type", type)) }
        if let bearer { h.append(("Authorization", "Bearer \(bearer)")) }
        return request("POST", path, headers: h, body: body)
    }

    static func json(_ path: String, _ text: String, bearer: String? = nil, type: String? = "application/json") -> [UInt8] {
        json(path, Array(text.utf8), bearer: bearer, type: type)
    }

    static func gate(_ authorization: String, path: String = "/demo/gated") -> [UInt8] {
        request("GET", path, headers: [("Authorization", authorization)])
    }

    /// A JWT with any header and claims, signed with `secret` (or a given signature).
    static func jwt(header: [String: Any], claims: [String: Any], secret: [UInt8], signature: String? = nil) -> String {
        let h = Base64URL.encode([UInt8](try! JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])))
        let c = Base64URL.encode([UInt8](try! JSONSerialization.data(withJSONObject: claims, options: [.sortedKeys])))
        let input = h + "." + c
        let sig = signature ?? Base64URL.encode(HMACSHA256Key(secret)!.authenticate(Array(input.utf8)))
        return input + "." + sig
    }

    static func claims(sub: String, tid: String, sid: String, email: String, iss: String = "authgate", aud: String = "2signal",
                       iat: Int? = nil, exp: Int? = nil) -> [String: Any] {
        let now = Int(Date().timeIntervalSince1970)
        return ["iss": iss, "aud": aud, "sub": sub, "tid": tid, "email": email, "role": "admin", "sid": sid,
                "jti": UUID().uuidString.lowercased(), "iat": iat ?? now, "exp": exp ?? now + 600]
    }
}
