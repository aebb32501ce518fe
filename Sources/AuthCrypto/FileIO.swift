#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Small POSIX file helpers so AuthCrypto stays free of Foundation.
enum FileIO {
    struct Failure: Error, CustomStringConvertible {
        let call: String
        let path: String
        let errno: Int32
        var description: String { "\(call)(\(path)): \(String(cString: strerror(errno)))" }
        var isNotFound: Bool { errno == ENOENT }
    }

    static func read(path: String, limit: Int = 1 << 20) throws -> [UInt8] {
        try readWithStatus(path: path, limit: limit).bytes
    }

    /// The bytes and the `fstat` of the same open file (so a mode check and the read cannot
    /// be about two different files).
    static func readWithStatus(path: String, limit: Int = 1 << 20) throws -> (bytes: [UInt8], status: stat) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Failure(call: "open", path: path, errno: errno) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw Failure(call: "fstat", path: path, errno: errno) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw Failure(call: "read", path: path, errno: errno)
            }
            if n == 0 { return (out, st) }
            out.append(contentsOf: chunk[0..<n])
            guard out.count <= limit else { throw Failure(call: "read", path: path, errno: EFBIG) }
        }
    }

    /// Runs `body` holding an exclusive `flock` on `lockPath` (created 0600 when missing and,
    /// when running as root, given `owner` so that user can take the lock later too).
    static func withExclusiveLock<T>(_ lockPath: String, owner: (uid: uid_t, gid: gid_t)?,
                                     _ body: () throws -> T) throws -> T {
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw Failure(call: "open", path: lockPath, errno: errno) }
        defer { close(fd) }   // closing the descriptor releases the lock
        if let owner, geteuid() == 0 { _ = fchown(fd, owner.uid, owner.gid) }
        while flock(fd, LOCK_EX) != 0 {
            guard errno == EINTR else { throw Failure(call: "flock", path: lockPath, errno: errno) }
        }
        return try body()
    }

    /// Identity of a file for change detection: device, inode, size, mtime, and ctime (so a
    /// `chmod` that fixes a refused mode is noticed too).
    struct Identity: Equatable {
        var dev: UInt64, ino: UInt64, size: Int64, mtimeSec: Int, mtimeNsec: Int, ctimeSec: Int, ctimeNsec: Int
    }

    static func identity(path: String) -> Identity? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return Identity(dev: UInt64(st.st_dev), ino: UInt64(st.st_ino), size: Int64(st.st_size),
                        mtimeSec: st.st_mtim.tv_sec, mtimeNsec: st.st_mtim.tv_nsec,
                        ctimeSec: st.st_ctim.tv_sec, ctimeNsec: st.st_ctim.tv_nsec)
    }

    /// Replaces `path` atomically with `contents`: temp file in the same directory (created
    /// 0600, then given `mode` and, when running as root, `owner`), fsync, rename over the
    /// target, fsync the directory.
    static func writeAtomically(path: String, contents: [UInt8], mode: mode_t = 0o600,
                                owner: (uid: uid_t, gid: gid_t)? = nil) throws {
        let suffix = Crypto.hex(Crypto.randomBytes(6))
        let temp = "\(path).tmp-\(suffix)"
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Failure(call: "open", path: temp, errno: errno) }
        var renamed = false
        defer { if !renamed { unlink(temp) } }
        do {
            defer { close(fd) }
            if let owner, geteuid() == 0 {
                guard fchown(fd, owner.uid, owner.gid) == 0 else { throw Failure(call: "fchown", path: temp, errno: errno) }
            }
            guard fchmod(fd, mode) == 0 else { throw Failure(call: "fchmod", path: temp, errno: errno) }
            var written = 0
            while written < contents.count {
                let n = contents.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + written, $0.count - written) }
                if n < 0 {
                    if errno == EINTR { continue }
                    throw Failure(call: "write", path: temp, errno: errno)
                }
                written += n
            }
            guard fsync(fd) == 0 else { throw Failure(call: "fsync", path: temp, errno: errno) }
        }
        guard rename(temp, path) == 0 else { throw Failure(call: "rename", path: path, errno: errno) }
        renamed = true
        let dir = directory(of: path)
        let dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 {
            defer { close(dfd) }
            guard fsync(dfd) == 0 else { throw Failure(call: "fsync", path: dir, errno: errno) }
        }
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let dir = path[..<slash]
        return dir.isEmpty ? "/" : String(dir)
    }

    /// CLOCK_MONOTONIC_COARSE seconds: cheap enough to read on every request.
    static func monotonicSeconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC_COARSE, &ts)
        return Int64(ts.tv_sec)
    }
}
