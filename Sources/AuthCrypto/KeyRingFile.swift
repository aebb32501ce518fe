#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The key ring file: loaded only when no one but its owner can read or write it; rewritten
/// (rotate, retire) under an exclusive lock, atomically, keeping its owner and owner mode bits.
extension KeyRing {
    /// Loads and parses the ring. Refuses a file that group or others can read or write
    /// (mode & 0o077 != 0): the secrets sign every access token.
    public static func load(path: String) throws -> KeyRing {
        let bytes: [UInt8]
        let status: stat
        do { (bytes, status) = try FileIO.readWithStatus(path: path) } catch { throw KeyRingError("key ring: \(error)") }
        try checkPrivate(status, path: path)
        guard let text = String(validating: bytes, as: UTF8.self) else { throw KeyRingError("key ring: not UTF-8") }
        return try parse(text)
    }

    /// Appends a fresh random 32-byte key (it becomes the signing key) and returns its kid.
    /// The file is created 0600 if missing; see `rewrite` for locking, atomicity and modes.
    public static func rotate(path: String) throws -> String {
        var kid = ""
        try rewrite(path: path, creating: true) { text, existing in
            repeat { kid = "k" + Crypto.hex(Crypto.randomBytes(6)) } while existing?.key(kid: kid) != nil
            var secret = Crypto.randomBytes(32)
            defer { Crypto.wipe(&secret) }
            var out = text
            if !out.isEmpty && !out.hasSuffix("\n") { out += "\n" }
            out += "\(kid):\(Base64URL.encode(secret))\n"
            return out
        }
        return kid
    }

    /// Removes the key `kid` from the ring, so tokens signed with it stop verifying once the
    /// processes reload the file (they re-stat it every second). Refuses an unknown kid and
    /// the signing key (the last key line: rotate first, then retire the old one).
    public static func retire(path: String, kid: String) throws {
        try rewrite(path: path, creating: false) { text, existing in
            guard let existing, existing.key(kid: kid) != nil else {
                throw KeyRingError("no key with kid '\(kid)' in \(path)")
            }
            guard existing.signing.kid != kid else {
                throw KeyRingError("kid \(kid) is the signing key (the last line of \(path)): rotate first, then retire it")
            }
            var kept: [Substring] = []
            for line in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
                let trimmed = line.trimmingWhitespace()
                if !trimmed.hasPrefix("#"), let colon = trimmed.firstIndex(of: ":"), trimmed[..<colon] == kid { continue }
                kept.append(line)
            }
            var out = kept.joined(separator: "\n")
            if !out.isEmpty && !out.hasSuffix("\n") { out += "\n" }
            return out
        }
    }

    /// Read-modify-write of the ring file under an exclusive `flock` on `<path>.lock`, so two
    /// `keys rotate`/`retire` cannot lose each other's change. The result is parsed before it
    /// is written (temp file in the same directory, fsync, rename, fsync of the directory) with
    /// the original's owner (chown'ed back when running as root) and its owner mode bits
    /// (group and other bits dropped; 0600 for a new file). A symlinked ring is rewritten at
    /// its target. `change` gets the current text and ring (nil when missing or blank).
    static func rewrite(path: String, creating: Bool, _ change: (String, KeyRing?) throws -> String) throws {
        let target = resolved(path)
        var before = stat()
        let exists = stat(target, &before) == 0
        if !exists && !(creating && errno == ENOENT) {
            throw KeyRingError("key ring: stat(\(path)): \(String(cString: strerror(errno)))")
        }
        let owner = exists ? (uid: before.st_uid, gid: before.st_gid) : nil
        if let owner, geteuid() != 0, owner.uid != geteuid() {
            throw KeyRingError("key ring \(path) is owned by uid \(owner.uid): run this as that user or as root")
        }
        do {
            try FileIO.withExclusiveLock(target + ".lock", owner: owner) {
                var text = ""
                var mode: mode_t = 0o600
                var fileOwner = owner
                do {
                    let (bytes, status) = try FileIO.readWithStatus(path: target)
                    guard let decoded = String(validating: bytes, as: UTF8.self) else { throw KeyRingError("key ring: not UTF-8") }
                    text = decoded
                    mode = status.st_mode & 0o700 == 0 ? 0o600 : status.st_mode & 0o700
                    fileOwner = (status.st_uid, status.st_gid)
                } catch let failure as FileIO.Failure where failure.isNotFound && creating {
                    text = ""
                }
                let blank = !text.utf8.contains { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 }
                let existing = blank ? nil : try parse(text)
                let updated = try change(text, existing)
                _ = try parse(updated)   // never write a ring that would not load
                try FileIO.writeAtomically(path: target, contents: Array(updated.utf8), mode: mode, owner: fileOwner)
            }
        } catch let failure as FileIO.Failure {
            throw KeyRingError("key ring: \(failure)")
        }
    }

    static func checkPrivate(_ status: stat, path: String) throws {
        let mode = status.st_mode & 0o7777
        guard mode & 0o077 == 0 else {
            throw KeyRingError("key ring \(path) has mode \(octal(mode)), readable or writable by group or others: "
                               + "refused (chmod 600 \(path))")
        }
        // Another user's ring, readable here only through a capability or an ACL, is not ours to
        // trust. Root (the CLI on the service's ring) reads the service user's file by design.
        let euid = geteuid()
        guard euid == 0 || status.st_uid == euid else {
            throw KeyRingError("key ring \(path) belongs to uid \(status.st_uid), not to this process's user (uid \(euid)): "
                               + "refused (chown it to the service user)")
        }
        // A directory others may write lets them rename their own 0600 ring into its place
        // (a sticky one, like /tmp, does not: only a file's owner may replace it there).
        var seen = Set<String>()
        for dir in [FileIO.directory(of: path), FileIO.directory(of: resolved(path))] where seen.insert(dir).inserted {
            var st = stat()
            guard stat(dir, &st) == 0 else { continue }
            if st.st_mode & 0o022 != 0 && st.st_mode & mode_t(S_ISVTX) == 0 {
                throw KeyRingError("key ring \(path): its directory \(dir) has mode \(octal(st.st_mode & 0o7777)), "
                                   + "writable by group or others, who could swap the ring: refused (chmod go-w \(dir))")
            }
        }
    }

    static func octal(_ mode: mode_t) -> String {
        let digits = String(mode, radix: 8)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    /// The file a symlink points to (the path itself when it is not one, or does not exist).
    static func resolved(_ path: String) -> String {
        guard let real = realpath(path, nil) else { return path }
        defer { free(real) }
        return String(cString: real)
    }
}
