import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A streaming standby of a running `PostgresServer` and its promotion (issue 24's failover
/// test): `pg_basebackup -R` from the primary's Unix socket (initdb's trust lines allow local
/// replication), then `postgres` on its own socket dir and port, `standby.signal` in its data dir.
extension PostgresServer {
    /// A new server whose data dir is a base backup of `primary` (running), set up to stream from
    /// it as `application_name` (what `synchronous_standby_names` names). Not started.
    public static func standby(of primary: PostgresServer, name: String = "standby1",
                               prefix: String = "authgate-pg-standby") throws -> PostgresServer {
        try PostgresServer(prefix: prefix) { standby in
            let conninfo = "host=\(primary.socketDirectory) port=\(primary.port) user=\(PostgresServer.superuser) application_name=\(name)"
            let logPath = standby.directory + "/basebackup.log"
            let child = try Child.spawn(standby.command("pg_basebackup"), standby.arguments("pg_basebackup", [
                "-D", standby.dataDirectory, "-R", "-X", "stream", "--no-sync", "-c", "fast", "-d", conninfo,
            ]), environment: PostgresServer.environment, stdout: logPath, stderr: logPath)
            let status = try child.wait(timeout: 120, for: "pg_basebackup of \(primary.dataDirectory)")
            guard status == 0 else {
                throw SupportError("pg_basebackup exited \(status): \((try? String(contentsOfFile: logPath, encoding: .utf8))?.suffix(2000) ?? "")")
            }
        }
    }

    /// `pg_ctl promote -w`: the standby ends recovery and takes writes.
    public func promote(timeout: Double = 60) throws {
        let logPath = directory + "/promote.log"
        let child = try Child.spawn(command("pg_ctl"), arguments("pg_ctl", [
            "promote", "-w", "-t", String(Int(timeout)), "-D", dataDirectory,
        ]), environment: PostgresServer.environment, stdout: logPath, stderr: logPath)
        let status = try child.wait(timeout: timeout + 10, for: "pg_ctl promote of \(dataDirectory)")
        guard status == 0 else {
            throw SupportError("pg_ctl promote exited \(status): \((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "")")
        }
    }
}
