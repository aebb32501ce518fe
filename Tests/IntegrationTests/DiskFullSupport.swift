import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A tmpfs of its own under the test's temp dir (the test runs as root), unmounted by
/// `unmount()` in the test's `defer` and again, lazily, when the object goes: a failing test
/// never leaves a mount behind. A refused mount throws (the test fails; it never skips).
final class TmpfsMount {
    let path: String
    private var mounted = false

    init(at path: String, size: String) throws {
        self.path = path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        guard Glibc.mount("tmpfs", path, "tmpfs", UInt(MS_NOSUID | MS_NODEV), "size=\(size),mode=0700") == 0 else {
            throw SupportError("mount -t tmpfs -o size=\(size) at \(path) was refused: \(String(cString: strerror(errno))) "
                               + "(this test needs root, or CAP_SYS_ADMIN, to mount a small file system it can fill)")
        }
        mounted = true
    }

    func unmount() {
        guard mounted else { return }
        // Lazy: a process still holding a file there (a responder that did not stop) cannot
        // keep the mount alive past the test; the memory goes when the last descriptor does.
        if umount2(path, 0) != 0 { _ = umount2(path, Int32(MNT_DETACH)) }
        mounted = false
    }

    deinit { unmount() }

    /// Free bytes for an unprivileged writer.
    var freeBytes: Int {
        var fs = statvfs()
        guard statvfs(path, &fs) == 0 else { return -1 }
        return Int(fs.f_bavail) * Int(fs.f_frsize)
    }

    /// Writes `file` until the file system refuses even one more byte (ENOSPC at 1 MiB, then
    /// 4 KiB, then 1-byte writes); returns the bytes written.
    func fill(_ file: String) throws -> Int {
        let fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SupportError("open \(file): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var total = 0
        for chunk in [1 << 20, 1 << 12, 1] {
            let bytes = [UInt8](repeating: 0xA5, count: chunk)
            while true {
                let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress, chunk) }
                if n > 0 { total += n; continue }
                guard errno == ENOSPC else { throw SupportError("write \(file): \(String(cString: strerror(errno)))") }
                break
            }
        }
        return total
    }
}
