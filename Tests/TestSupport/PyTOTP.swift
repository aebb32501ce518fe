import Foundation

/// TOTP codes from an independent implementation: Python's `hmac`/`hashlib`/`struct` (RFC 6238,
/// SHA-1, 6 digits, 30 s), never Authgate's own code. `python3` is a build dependency already.
public enum PyTOTP {
    static let script = """
        import base64, hashlib, hmac, struct, sys
        s = sys.argv[1].upper()
        key = base64.b32decode(s + "=" * ((8 - len(s) % 8) % 8))
        for t in sys.argv[2:]:
            h = hmac.new(key, struct.pack(">Q", int(t) // 30), hashlib.sha1).digest()
            o = h[-1] & 15
            print("%06d" % ((struct.unpack(">I", h[o:o + 4])[0] & 0x7FFFFFFF) % 1000000))
        """

    /// The codes of `secret` (base32) at each Unix time in `times`.
    public static func codes(secret: String, at times: [Int64]) throws -> [String] {
        let python = ["/usr/bin/python3", "/usr/local/bin/python3"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let python else { throw SupportError("python3 is needed to compute TOTP codes independently") }
        let out = try Child.run(python, ["-c", script, secret] + times.map(String.init), timeout: 30)
        guard out.status == 0 else { throw SupportError("python3 TOTP: \(out.stderr)") }
        let lines = out.lines
        guard lines.count == times.count else { throw SupportError("python3 TOTP: unexpected output \(out.stdout)") }
        return lines
    }

    public static func code(secret: String, at time: Int64 = Int64(Date().timeIntervalSince1970)) throws -> String {
        try codes(secret: secret, at: [time])[0]
    }

    /// A code the server has not accepted yet: the current step's unless it is `used`, then the
    /// next step's (accepted too: one step either side).
    public static func fresh(secret: String, notIn used: Set<String>) throws -> String {
        let now = Int64(Date().timeIntervalSince1970)
        let c = try codes(secret: secret, at: [now, now + 30])
        return used.contains(c[0]) ? c[1] : c[0]
    }
}
