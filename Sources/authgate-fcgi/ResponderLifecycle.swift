import AuthCore
import Foundation
import Glibc

extension Responder {
    static let help = """
    usage: authgate-fcgi [--help | --version | --hold-socket]

    The Authgate FastCGI responder. Serves the API and nginx's auth_request verify route on a
    Unix socket. Configuration: environment variables AUTH_* and the config file
    (AUTH_CONFIG, default /etc/authgate/authgate.conf; the environment wins): see `authgate config`.

    Socket: AUTH_SOCKET (default /run/authgate/authgate.sock), bound by the responder itself,
    or passed by systemd (socket activation: LISTEN_FDS/LISTEN_PID, authgate.socket).
      --hold-socket   bind the socket once and run the responder as a child process that
                      inherits it, restarting it when it exits: connections wait in the
                      socket's backlog meanwhile instead of failing (make run uses this).
    Signals: SIGTERM/SIGINT stop (in-flight requests finish); SIGHUP re-reads the config file
    (a bad one is logged and ignored) and the key ring, and applies the keys that can change
    live (log format, metrics, lockout, password length, body cap, CORS/site origins, refresh
    and session lifetimes, ...; the log line names the rest, which need a restart).
    Health: GET /api/v1/health (cheap), GET /api/v1/ready (503 when the database is not writable).
    """

    /// `--help`, `--version`, `--hold-socket`; anything else is a usage error (exit 2).
    static func handleCommandLine(_ args: [String]) {
        guard let first = args.first else { return }
        switch first {
        case "--help", "-h", "help":
            print(help)
            exit(0)
        case "--version", "-V":
            print("authgate-fcgi \(App.version)")
            exit(0)
        case "--hold-socket" where args.count == 1:
            SocketHolder.run()
        default:
            FileHandle.standardError.write(Data("authgate-fcgi: unknown argument '\(first)'\n\(help)\n".utf8))
            exit(2)
        }
    }

    /// SIGHUP: re-read the config file (validated; a bad one is logged and the running config
    /// kept), apply its live keys (Settings.liveKeys: at the next request of every worker),
    /// name every changed key that needs a restart, reload the key ring, refresh the verify
    /// state. Never exits. Returns the configuration now in force (the next reload's baseline).
    static func reload(_ app: App, started: EffectiveConfig, current: EffectiveConfig) -> EffectiveConfig {
        let log = app.log
        log.info("authgate-fcgi: SIGHUP: re-reading the configuration and the key ring")
        var inForce = current
        do {
            let fresh = try EffectiveConfig(environment: ProcessInfo.processInfo.environment)
            let settings = try fresh.settings()
            let names = ConfigFile.keys.map(\.name)
            let applied = names.filter { Settings.liveKeys.contains($0) && current.merged[$0] != fresh.merged[$0] }
            let restart = names.filter {
                !Settings.liveKeys.contains($0) && !Settings.notDaemonKeys.contains($0) && started.merged[$0] != fresh.merged[$0]
            }
            app.reload(settings)
            inForce = fresh
            log.info("authgate-fcgi: SIGHUP: applied \(applied.isEmpty ? "no changed setting" : applied.joined(separator: ", "))")
            if !restart.isEmpty {
                log.warning("authgate-fcgi: changed in the configuration but NOT applied: \(restart.joined(separator: ", ")); "
                    + "they need a restart (systemctl restart authgate: with socket activation no request is lost). "
                    + "SIGHUP applies only \(Settings.liveKeys.sorted().joined(separator: " "))")
            }
        } catch {
            log.error("authgate-fcgi: SIGHUP: the configuration is not valid, keeping the running one: \(error)")
        }
        if let problem = app.keys.reload(force: true) {
            log.error("authgate-fcgi: SIGHUP: \(problem)")
        } else {
            log.info("authgate-fcgi: key ring \(app.settings.keysFile) loaded (signing kid \(app.keys.signingKid))")
        }
        app.verifyState.refreshIfChanged()
        return inForce
    }
}
