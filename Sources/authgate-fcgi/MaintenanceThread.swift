import AuthCore
import Glibc

/// Prunes expired sessions and old audit rows at start and then hourly, on its own
/// database connection, off the request path.
enum MaintenanceThread {
    static let interval: UInt32 = 3600

    nonisolated static func start(_ context: WorkerThreadContext) {
        let box = Unmanaged.passRetained(context).toOpaque()
        var thread = pthread_t()
        if pthread_create(&thread, nil, { maintenanceThreadEntry($0) }, box) == 0 {
            pthread_detach(thread)
        } else {
            Unmanaged<WorkerThreadContext>.fromOpaque(box).release()
            context.app.log.error("authgate-fcgi: cannot start the maintenance thread; sessions and audit rows are not pruned")
        }
    }

    nonisolated static func loop(_ app: App) {
        let db: Database
        do { db = try Database(settings: app.settings) } catch {
            app.log.error("maintenance: cannot open the database: \(error)")
            return
        }
        while !Responder.stopping.load(ordering: .relaxed) {
            app.runMaintenance(db: db)
            sleep(interval)
        }
    }
}

nonisolated func maintenanceThreadEntry(_ raw: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    guard let raw else { return nil }
    let context = Unmanaged<WorkerThreadContext>.fromOpaque(raw).takeRetainedValue()
    MaintenanceThread.loop(context.app)
    return nil
}
