// Authorization header / credential classifier and the refresh/API/node key formats.
// Invariants: the byte fast path (classify) and the generic init(credential:) agree; a refresh
// token parses only when it re-encodes to exactly the same text (no malleability).
@testable import AuthCrypto

let ring = KeyRing(keys: [SigningKey(kid: "k1", secret: Array(repeating: 0x41, count: 32))])

func fuzzOne(_ bytes: [UInt8]) {
    let text = String(decoding: bytes, as: UTF8.self)
    let fast = CredentialKind.classify(text)
    let slow = CredentialKind(credential: text)
    fuzzCheck("\(fast)" == "\(slow)", "classify \(fast) != init(credential:) \(slow) for \(Array(text.utf8))")
    fuzzCheck("\(CredentialKind(credential: Substring(text)))" == "\(slow)", "Substring differs")
    if let (sid, counter) = RefreshToken.parse(text, ring: ring) {
        fuzzCheck(RefreshToken.make(sessionID: sid, counter: counter, ring: ring) == text, "refresh token malleable: \(text)")
    }
    _ = CredentialKeys.digest(text)
    _ = Base64URL.decode(text)
}
