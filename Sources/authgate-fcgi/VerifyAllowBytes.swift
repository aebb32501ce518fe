import AuthCore

/// The common verify answer, an allow without a renewal, rendered straight from the Decision as
/// the door's bytes: the identity's fields in the list's order under their ready-made header
/// names, then `X-Accel-Expires`. The same bytes `Worker.verifyResponse` + `ResponseBytes` /
/// `HTTPDoorResponse` produce (the exact-header tests of both doors hold it), without the
/// intermediate `Response` and its header strings: that detour was about 10k of the 22k
/// instructions an allowed verify cost more than a 401 (callgrind-verify.sh). Everything else
/// (denials, renewals) still goes through `verifyResponse`.
enum VerifyAllowBytes {
    /// `Status: 204 No Content` + headers + the blank line (FastCGI STDOUT), or nil when a value
    /// cannot be written as is (then the caller takes the generic path, which drops and logs it).
    static func fastcgi(_ identity: Identity, cacheable: Bool, now: Int64) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(320)
        out.append(contentsOf: fastcgiStatus)
        guard appendIdentity(identity, to: &out) != nil else { return nil }
        appendAccel(cacheable: cacheable, now: now, to: &out)
        out.append(13)
        out.append(10)
        return out
    }

    /// The HTTP door's answer: status line, the identity, `X-Accel-Expires`, then each of the
    /// door's nine identity headers the identity lacks, empty (as `HTTPDoorResponse` writes them),
    /// and `tail` (`Content-Length: 0`, + `Connection: close`).
    static func http(_ identity: Identity, cacheable: Bool, now: Int64, tail: [UInt8]) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(400)
        out.append(contentsOf: httpStatus)
        guard let present = appendIdentity(identity, to: &out) else { return nil }
        appendAccel(cacheable: cacheable, now: now, to: &out)
        for i in 0..<HTTPDoorResponse.identityHeaders.count where present & (1 << i) == 0 {
            out.append(contentsOf: names[i])
            out.append(13)
            out.append(10)
        }
        out.append(contentsOf: tail)
        return out
    }

    /// The present fields, in order; the set of them (bit i: field i), or nil when a value holds
    /// a control character (nothing is then used of `out`).
    private static func appendIdentity(_ identity: Identity, to out: inout [UInt8]) -> UInt32? {
        var present: UInt32 = 0
        var i = 0
        while let field = Identity.Field(rawValue: i) {
            if var value = identity[field] {
                let written = value.withUTF8 { v in
                    guard HeaderValueBytes.isSafe(v) else { return false }
                    out.append(contentsOf: names[i])
                    out.append(contentsOf: v)
                    out.append(13)
                    out.append(10)
                    return true
                }
                guard written else { return nil }
                present |= 1 << i
            }
            i += 1
        }
        return present
    }

    private static func appendAccel(cacheable: Bool, now: Int64, to out: inout [UInt8]) {
        out.append(contentsOf: accelName)
        if cacheable {
            out.append(UInt8(ascii: "@"))
            appendDecimal(now, to: &out)
        } else {
            out.append(UInt8(ascii: "0"))
        }
        out.append(13)
        out.append(10)
    }

    private static func appendDecimal(_ value: Int64, to out: inout [UInt8]) {
        guard value > 0 else {
            out.append(contentsOf: Array(String(value).utf8))
            return
        }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = value
        var count = 0
        withUnsafeMutableBytes(of: &digits) { buffer in
            while n > 0 {
                buffer[19 - count] = UInt8(ascii: "0") + UInt8(n % 10)
                n /= 10
                count += 1
            }
            out.append(contentsOf: buffer[(20 - count)...])
        }
    }

    /// `X-Auth-Kind: ` ... in `Identity.Field` order.
    private static let names: [[UInt8]] = (0..<Identity.Field.count).map { Array("\(Identity.Field(rawValue: $0)!.header): ".utf8) }
    private static let accelName = Array("X-Accel-Expires: ".utf8)
    private static let fastcgiStatus = Array("Status: 204 \(reasonPhrase(204))\r\n".utf8)
    private static let httpStatus = Array("HTTP/1.1 204 \(reasonPhrase(204))\r\n".utf8)
}
