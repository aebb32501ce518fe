import AuthCore
import CFastCGI
import Glibc

/// What every worker thread shares: immutable, so it crosses threads safely.
final class WorkerThreadContext: Sendable {
    let app: App
    let listenFD: Int32
    let socketPath: String
    /// Set when the socket is shared with another process (systemd, a launcher): see AcceptGate.
    let gate: AcceptGate?

    init(app: App, listenFD: Int32, socketPath: String, gate: AcceptGate? = nil) {
        self.app = app
        self.listenFD = listenFD
        self.socketPath = socketPath
        self.gate = gate
    }
}

struct ThreadStartError: Error, CustomStringConvertible {
    var code: Int32
    var description: String { "pthread_create: \(String(cString: strerror(code)))" }
}

/// One pthread per worker, each with its own `Worker` (database connection) and
/// `FCGX_Request`, all calling `FCGX_Accept_r` on the same listening fd (no accept mutex).
enum WorkerThread {
    nonisolated static func start(_ context: WorkerThreadContext) throws(ThreadStartError) {
        Responder.runningThreads.add(1, ordering: .sequentiallyConsistent)
        let box = Unmanaged.passRetained(context).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { workerThreadEntry($0) }, box)
        guard rc == 0 else {
            Unmanaged<WorkerThreadContext>.fromOpaque(box).release()
            Responder.runningThreads.subtract(1, ordering: .sequentiallyConsistent)
            throw ThreadStartError(code: rc)
        }
        pthread_detach(thread)
    }

    nonisolated static func loop(_ context: WorkerThreadContext) {
        defer { Responder.runningThreads.subtract(1, ordering: .sequentiallyConsistent) }
        let app = context.app
        let worker: Worker
        do { worker = try app.makeWorker() } catch {
            app.log.error("authgate-fcgi: cannot start a worker: \(error)")
            unlink(context.socketPath)
            exit(1)
        }
        let request = UnsafeMutablePointer<FCGX_Request>.allocate(capacity: 1)
        defer { request.deallocate() }
        guard FCGX_InitRequest(request, context.listenFD, 0) == 0 else {
            app.log.error("authgate-fcgi: FCGX_InitRequest failed")
            return
        }
        var exchange = FastCGIExchange(worker: worker)
        let gate = context.gate
        let waiter = gate?.makeWaiter() ?? -1
        if gate != nil && waiter < 0 { app.log.error("authgate-fcgi: epoll for a worker failed: \(errnoText())"); return }
        defer { if waiter >= 0 { close(waiter) } }
        while true {
            // Shared socket: wait on the gate, and count this thread busy *before* accepting,
            // so a stop either sees it busy or it sees the stop (Responder.stopShared).
            var counted = false
            if let gate, request.pointee.ipcFd < 0 {
                guard gate.waitForConnection(waiter) else { break }
                Responder.busyThreads.add(1, ordering: .sequentiallyConsistent)
                counted = true
                if Responder.stopping.load(ordering: .sequentiallyConsistent) {
                    Responder.busyThreads.subtract(1, ordering: .sequentiallyConsistent)
                    break
                }
            }
            let rc = FCGX_Accept_r(request)
            if gate != nil && rc >= 0 && !counted { Responder.busyThreads.add(1, ordering: .sequentiallyConsistent); counted = true }
            if rc < 0 {
                if counted { Responder.busyThreads.subtract(1, ordering: .sequentiallyConsistent) }
                if Responder.stopping.load(ordering: .sequentiallyConsistent) { break }
                if gate != nil && (rc == -EAGAIN || rc == -EWOULDBLOCK) { continue }   // another worker took it
                // A transient accept failure (EMFILE, ENOMEM...) must not shrink the pool.
                app.log.error("authgate-fcgi: accept failed (\(String(cString: strerror(-rc)))); retrying")
                usleep(50_000)
                continue
            }
            exchange.serve(request)
            FCGX_Finish_r(request)
            if counted { Responder.busyThreads.subtract(1, ordering: .sequentiallyConsistent) }
            if gate != nil && Responder.stopping.load(ordering: .sequentiallyConsistent) {
                if request.pointee.ipcFd >= 0 { FCGX_Free(request, 1) }   // a kept connection: nginx reconnects
                break
            }
        }
    }
}

/// The pthread entry point. Nonisolated and outside main.swift on purpose (Swift 6 runtime
/// isolation checks would trap if this were main-actor code).
nonisolated func workerThreadEntry(_ raw: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    guard let raw else { return nil }
    let context = Unmanaged<WorkerThreadContext>.fromOpaque(raw).takeRetainedValue()
    WorkerThread.loop(context)
    return nil
}
