/// Input rules shared by the API and the CLI: an identity value that becomes a header line
/// (email, names) must never hold control characters.
public enum Validation {
    public static let maxEmailLength = 254
    public static let maxNameLength = 200
    public static let maxPasswordLength = 1024
    public static let roles = ["agent", "supervisor", "admin", "platform_admin"]

    /// Trimmed, lowercased email, or nil when it is not a plausible address.
    public static func normalizedEmail(_ raw: String) -> String? {
        let trimmed = raw.trimmingASCIISpaces()
        guard !trimmed.isEmpty, trimmed.utf8.count <= maxEmailLength,
              !containsControlOrSpace(trimmed), !trimmed.unicodeScalars.contains(where: isInvisible) else { return nil }
        let parts = trimmed.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return nil }
        return trimmed.lowercased()
    }

    /// Tenant domains: lowercase letters, digits, dots and hyphens.
    public static func normalizedDomain(_ raw: String) -> String? {
        let d = raw.trimmingASCIISpaces().lowercased()
        guard !d.isEmpty, d.utf8.count <= 253,
              d.utf8.allSatisfy({ ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 46 || $0 == 45 })
        else { return nil }
        return d
    }

    /// Display names (tenants, projects, keys, nodes).
    public static func name(_ raw: String) -> String? {
        let n = raw.trimmingASCIISpaces()
        guard !n.isEmpty, n.utf8.count <= maxNameLength, !n.unicodeScalars.contains(where: isControl) else {
            return nil
        }
        return n
    }

    public static func isRole(_ role: String) -> Bool { roles.contains(role) }

    /// Rank for "role X or above" checks.
    public static func rank(_ role: String) -> Int { roles.firstIndex(of: role) ?? -1 }

    /// nil when acceptable, else the public reason (`weak_password`).
    public static func passwordProblem(_ new: String, email: String, current: String?, minLength: Int) -> String? {
        if new.count < minLength { return "password must be at least \(minLength) characters" }
        if new.utf8.count > maxPasswordLength { return "password is too long" }
        if new.lowercased() == email.lowercased() { return "password must not be the email address" }
        if let current, new == current { return "new password must differ from the current one" }
        return nil
    }

    static func isControl(_ s: Unicode.Scalar) -> Bool {
        s.value < 0x20 || s.value == 0x7F || (s.value >= 0x80 && s.value < 0xA0) || s.value == 0x2028 || s.value == 0x2029
    }

    /// Default-ignorable and format code points (U+00AD soft hyphen, U+200B zero width space,
    /// U+200D, U+2060, U+FEFF, bidi controls...): invisible, so two addresses that look the same
    /// could differ, and PostgreSQL's `authgate_nocase` collation ignores them where SQLite's
    /// NOCASE does not (lookups and `migrate --from-sqlite` would disagree).
    static func isInvisible(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.isDefaultIgnorableCodePoint || scalar.properties.generalCategory == .format
    }

    static func containsControlOrSpace(_ s: String) -> Bool {
        s.unicodeScalars.contains { isControl($0) || $0 == " " }
    }
}
