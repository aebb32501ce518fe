import AuthCore
import Foundation

/// Entry point of `authgate-ws`: settings from the environment and the config file, routes,
/// run until SIGTERM. SIGHUP re-reads the config file (a bad one is logged, the running one
/// kept) and reloads the key ring; it never stops the companion or its connections.
public enum CompanionMain {
    static let help = """
    usage: authgate-ws [--help | --version]

    The Authgate WebSocket companion: nginx proxies /ws/ upgrades to its Unix socket
    (AUTH_WS_SOCKET, default /run/authgate/authgate-ws.sock, or passed by systemd:
    authgate-ws.socket); it checks ?token= and the route's roles, then relays to the upstream
    (AUTH_WS_ROUTES / AUTH_WS_UPSTREAM). Configuration: AUTH_* variables and the config file
    (AUTH_CONFIG, default /etc/authgate/authgate.conf; the environment wins).
    Signals: SIGTERM/SIGINT close every connection with 1001 and stop; SIGHUP re-reads the
    config file and the key ring (open connections stay).
    """

    public static func run(arguments: [String] = Array(CommandLine.arguments.dropFirst()),
                           environment env: [String: String] = ProcessInfo.processInfo.environment) -> Int32 {
        if let first = arguments.first {
            switch first {
            case "--help", "-h", "help": print(help); return 0
            case "--version", "-V": print("authgate-ws \(App.version)"); return 0
            default:
                FileHandle.standardError.write(Data("authgate-ws: unknown argument '\(first)'\n\(help)\n".utf8))
                return 2
            }
        }
        do {
            let config = try EffectiveConfig(environment: env)
            let settings = try config.settings()
            let routes = try RouteTable(environment: config.merged, wsSocketPath: settings.wsSocketPath)
            let logger = Logger(settings: settings)
            let companion = try Companion(settings: settings, routes: routes, logger: logger)
            companion.metricsSocketPath = config.merged["AUTH_WS_METRICS_SOCKET"].flatMap { $0.isEmpty ? nil : $0 }
            companion.onReload = { [unowned companion] in reload(companion, baseline: config, environment: env) }
            try companion.run()
            return 0
        } catch {
            Logger().error("authgate-ws: \(error)")
            return 1
        }
    }

    static func reload(_ companion: Companion, baseline: EffectiveConfig, environment env: [String: String]) {
        let log = companion.logger
        log.info("authgate-ws: SIGHUP: re-reading the configuration and the key ring")
        do {
            let fresh = try EffectiveConfig(environment: env)
            let settings = try fresh.settings()
            _ = try RouteTable(environment: fresh.merged, wsSocketPath: settings.wsSocketPath)
            // The companion applies the log format live; its other settings (routes, origins, the
            // verify windows) are built into its event loop at start.
            log.format = Logger.Format(rawValue: settings.logFormat) ?? .text
            let changed = ConfigFile.keys.map(\.name).filter {
                $0 != "AUTH_LOG_FORMAT" && !Settings.notDaemonKeys.contains($0) && baseline.merged[$0] != fresh.merged[$0]
            }
            if !changed.isEmpty {
                log.warning("authgate-ws: changed in the configuration but NOT applied: \(changed.joined(separator: ", ")); "
                    + "they need a restart of the companion (systemctl restart authgate-ws; open WebSockets are closed with 1001)")
            }
        } catch {
            log.error("authgate-ws: SIGHUP: the configuration is not valid, keeping the running one: \(error)")
        }
        if let problem = companion.auth.keys.reload(force: true) {
            log.error("authgate-ws: SIGHUP: \(problem)")
        } else {
            log.info("authgate-ws: key ring loaded (signing kid \(companion.auth.keys.signingKid))")
        }
    }
}
