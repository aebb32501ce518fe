import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Debian's real `pgbouncer` (package pgbouncer, issue 24) in front of a test `PostgresServer`, in
/// transaction mode, on a free 127.0.0.1 port: `auth_type = trust` with a userlist naming the
/// server's superuser, `ignore_startup_parameters = options` (so a client that still sends its
/// session options gets as far as the issue saw: connected, then its prepared statements collide).
/// Runs in the foreground in the test's process group (a killed test run takes it along), as the
/// server's account when this process is root (pgbouncer refuses root).
public final class PgBouncer: @unchecked Sendable {
    public static let binary = "/usr/sbin/pgbouncer"
    private let temp: TempDir
    private var child: Child?
    public let port: Int
    public var logPath: String { temp.path + "/pgbouncer.log" }

    public static var isInstalled: Bool { FileManager.default.isExecutableFile(atPath: binary) }

    /// `poolSize`: server connections per database/user pair (`default_pool_size`).
    public init(server: PostgresServer, poolSize: Int = 4) throws {
        guard PgBouncer.isInstalled else { throw SupportError("\(PgBouncer.binary) not found (Debian package pgbouncer: make deps installs it)") }
        temp = try TempDir("authgate-pgbouncer")
        port = try PostgresServer.freePort()
        let ini = """
            [databases]
            * = host=\(server.socketDirectory) port=\(server.port)
            [pgbouncer]
            listen_addr = 127.0.0.1
            listen_port = \(port)
            unix_socket_dir =
            auth_type = trust
            auth_file = \(temp.path)/userlist.txt
            pool_mode = transaction
            default_pool_size = \(poolSize)
            max_client_conn = 500
            ignore_startup_parameters = options
            server_reset_query =
            logfile = \(temp.path)/pgbouncer.log
            pidfile = \(temp.path)/pgbouncer.pid
            """
        try ini.write(toFile: temp.path + "/pgbouncer.ini", atomically: false, encoding: .utf8)
        try "\"\(PostgresServer.superuser)\" \"\"\n".write(toFile: temp.path + "/userlist.txt", atomically: false, encoding: .utf8)
        if let account = PostgresServer.account {
            // The files too: another suite's Stack may hold the process's umask at 077 while they
            // were written (pgbouncer then failed with "could not load file ... Permission denied").
            for path in [temp.path, temp.path + "/pgbouncer.ini", temp.path + "/userlist.txt"] {
                guard chown(path, account.uid, account.gid) == 0 else { throw SupportError("chown \(path): \(String(cString: strerror(errno)))") }
            }
        }
        let args = [temp.path + "/pgbouncer.ini"]
        let spawned: Child
        if let account = PostgresServer.account {
            spawned = try Child.spawn("/usr/bin/setpriv", ["--reuid=\(account.uid)", "--regid=\(account.gid)", "--clear-groups", "--",
                                                          PgBouncer.binary] + args,
                                      environment: PostgresServer.environment, stdout: temp.path + "/stdout.log", stderr: temp.path + "/stdout.log")
        } else {
            spawned = try Child.spawn(PgBouncer.binary, args, environment: PostgresServer.environment,
                                      stdout: temp.path + "/stdout.log", stderr: temp.path + "/stdout.log")
        }
        child = spawned
        do {
            try waitFor("pgbouncer to listen on 127.0.0.1:\(port)", timeout: 20, every: 20_000) {
                guard spawned.isRunning else {
                    throw SupportError("pgbouncer exited: \((try? String(contentsOfFile: self.temp.path + "/stdout.log", encoding: .utf8)) ?? "")")
                }
                return PgBouncer.connects(port: port)
            }
        } catch {
            stop()
            throw error
        }
    }

    deinit { stop() }

    public func stop() {
        guard let child else { return }
        self.child = nil
        _ = child.stop(grace: 5, signal: SIGINT)
    }

    /// A libpq URI to `database` through the pooler (no TLS).
    public func url(database: String) -> String {
        "postgresql://\(PostgresServer.superuser)@127.0.0.1:\(port)/\(database)?sslmode=disable"
    }

    private static func connects(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }
}
