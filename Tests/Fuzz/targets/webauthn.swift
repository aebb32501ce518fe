// WebAuthn parsing (AuthWebAuthn): the strict CBOR decoder, the attestation object, authenticator
// data, COSE keys and a whole registration and assertion, all on every input.
// Invariants: a decoded CBOR item encodes back to exactly its input bytes (the decoder accepts
// only the canonical head form, so there is one encoding per value); decodePrefix stops inside
// the input; parsed authenticator data re-reads its own COSE key to the same key; a
// registration or assertion over fuzzed bytes either throws a WebAuthnError or passes every
// check it claims (only the seeds made with the fuzz client data can pass).
import AuthCrypto
import AuthWebAuthn

let rp = try! WebAuthnRelyingParty(rpID: "localhost", origins: ["http://localhost:5000"])
let challenge = Base64URL.decode("TwN7n4WTyGKLc4ZY-qGsFqKnHM4nglqsyV0ICJlN2TO9XiRyFtrkaDwUvsql-gkLJXP6fnF1MlrZ53Mm4R7Cvw")!
let createData = Array(#"{"type":"webauthn.create","challenge":"TwN7n4WTyGKLc4ZY-qGsFqKnHM4nglqsyV0ICJlN2TO9XiRyFtrkaDwUvsql-gkLJXP6fnF1MlrZ53Mm4R7Cvw","origin":"http://localhost:5000","crossOrigin":false}"#.utf8)
let getData = Array(#"{"type":"webauthn.get","challenge":"TwN7n4WTyGKLc4ZY-qGsFqKnHM4nglqsyV0ICJlN2TO9XiRyFtrkaDwUvsql-gkLJXP6fnF1MlrZ53Mm4R7Cvw","origin":"http://localhost:5000"}"#.utf8)
let storedKey = Base64URL.decode("pQECAyYgASFYIEhW1CRfuNlIN6XTPKw0RbvzeaIlRMrDwwep-uq_-3WQIlgg1FZwd_RZRsqS_qgKCDvcVh7ScoKNo3w5h5fv3ihUSww")!
let rpHash = Crypto.sha256(Array("localhost".utf8))

func fuzzOne(_ bytes: [UInt8]) {
    if let value = try? CBORDecoder.decode(bytes) {
        fuzzCheck(value.encoded() == bytes, "CBOR round trip changed \(bytes.count) bytes")
    }
    if let (_, end) = try? CBORDecoder.decodePrefix(bytes[...]) {
        fuzzCheck(end > 0 && end <= bytes.count, "decodePrefix ended at \(end) of \(bytes.count)")
    }
    if let key = try? COSEKey(bytes: bytes) {
        fuzzCheck((try? COSEKey(bytes: CBORDecoder.decode(bytes).encoded())) == key, "COSE key not stable")
    }
    if let data = try? AuthenticatorData(bytes) {
        fuzzCheck(data.rpIDHash.count == 32, "rpIdHash of \(data.rpIDHash.count) bytes")
        if let attested = data.attested {
            fuzzCheck((try? COSEKey(bytes: attested.cosePublicKey)) == attested.key, "stored COSE key re-reads differently")
            fuzzCheck(attested.aaguid.count == 16 && !attested.credentialID.isEmpty, "attested data sizes")
        }
    }
    do {
        let cred = try WebAuthn.verifyRegistration(clientDataJSON: createData, attestationObject: bytes, expectedChallenge: challenge,
                                                   rp: rp, requireUserVerification: false)
        fuzzCheck(cred.flags.userPresent, "registration passed without UP")
        fuzzCheck(["none", "packed"].contains(cred.attestationFormat), "format \(cred.attestationFormat) passed")
        fuzzCheck((try? COSEKey(bytes: cred.cosePublicKey))?.algorithm.rawValue == cred.algorithm, "algorithm differs from the key's")
    } catch {}
    do {
        let result = try WebAuthn.verifyAssertion(clientDataJSON: getData, authenticatorData: bytes, signature: bytes,
                                                  expectedChallenge: challenge, rp: rp, cosePublicKey: storedKey,
                                                  storedSignCount: 5, requireUserVerification: false)
        fuzzCheck(Array(bytes.prefix(32)) == rpHash && result.flags.userPresent, "an assertion passed its checks wrongly")
    } catch {}
}
