import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A PostgreSQL password in the config file is only as private as the file (review finding 14):
/// `/etc/authgate/authgate.conf` is commonly 0644. Warned about at start (the responder logs
/// `Settings.startupWarnings`) and by `authgate doctor`; not refused, since a 0640 file with a
/// dedicated group is a legitimate choice the operator makes knowingly.
public enum ConfigFileAudit {
    /// The warning when the file's `AUTH_DB_URL` holds a password and the file is readable by its
    /// group or by others; nil otherwise.
    public static func exposedPassword(_ file: ConfigFile) -> String? {
        guard let url = file.entries["AUTH_DB_URL"]?.value, !url.isEmpty, PostgresURL.hasPassword(url) else { return nil }
        var st = stat()
        guard stat(file.path, &st) == 0, st.st_mode & 0o044 != 0 else { return nil }
        let mode = "0" + String(st.st_mode & 0o7777, radix: 8)
        return "\(file.path) is readable by its group or by others (mode \(mode)) and its AUTH_DB_URL holds a password: "
            + "chmod 600 it (owned by the service user), or move the password to ~/.pgpass (PGPASSFILE)"
    }
}
