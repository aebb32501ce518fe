import AuthCore
import Foundation

/// Entry point of `authgate-ws`: settings from the environment, routes, run until SIGTERM.
public enum CompanionMain {
    public static func run(environment env: [String: String] = ProcessInfo.processInfo.environment) -> Int32 {
        do {
            let settings = try Settings(environment: env)
            let routes = try RouteTable(environment: env, wsSocketPath: settings.wsSocketPath)
            let companion = try Companion(settings: settings, routes: routes, logger: Logger(json: settings.logJSON))
            try companion.run()
            return 0
        } catch {
            Logger().error("authgate-ws: \(error)")
            return 1
        }
    }
}
