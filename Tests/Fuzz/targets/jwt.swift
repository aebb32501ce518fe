// JWT decode + verify with a fixed ring. Invariants: never crash; an accepted token has the
// header alg HS256 and a kid of the ring, its claims match the deployment, and re-signing its
// claims with the same key verifies to the same claims (sign/verify round trip).
@testable import AuthCrypto

let ring = KeyRing(keys: [SigningKey(kid: "k1", secret: Array(repeating: 0x41, count: 32)),
                          SigningKey(kid: "k2", secret: Array(repeating: 0x42, count: 32))])

func fuzzOne(_ bytes: [UInt8]) {
    let token = String(decoding: bytes, as: UTF8.self)
    let now: Int64 = 1_800_000_000
    switch JWT.verify(token, ring: ring, issuer: "authgate", audience: "2signal", now: now, leeway: 30) {
    case let .success(claims):
        fuzzCheck(claims.iss == "authgate" && claims.aud == "2signal", "wrong iss/aud accepted")
        fuzzCheck(claims.exp + 30 > now, "expired token accepted")
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        fuzzCheck(parts.count == 3, "accepted a token without three segments")
        let again = JWT.sign(claims, key: ring.signing)
        fuzzCheck((try? JWT.verify(again, ring: ring, issuer: "authgate", audience: "2signal", now: now, leeway: 30).get()) == claims,
                  "round trip failed")
    case .failure: break
    }
}
