import AuthCore
import AuthFastCGI
import Glibc

/// What every worker thread of one pool shares: immutable, so it crosses threads safely.
final class WorkerThreadContext: Sendable {
    let app: App
    let queue: RequestQueue
    let reader: ConnectionReader
    let socketPath: String

    init(app: App, queue: RequestQueue, reader: ConnectionReader, socketPath: String) {
        self.app = app
        self.queue = queue
        self.reader = reader
        self.socketPath = socketPath
    }
}

struct ThreadStartError: Error, CustomStringConvertible {
    var code: Int32
    var description: String { "pthread_create: \(String(cString: strerror(code)))" }
}

/// One pthread per worker, each with its own `Worker` (database connection). A worker only
/// ever sees complete requests (the ConnectionReader read them), so no client can hold it:
/// it answers, writes what the socket takes at once, and gives the connection back.
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
        let exchange = FastCGIExchange(worker: worker)
        let door = HTTPDoorExchange(worker: worker)
        while let job = context.queue.take() {
            let connection = job.connection
            switch job.payload {
            case let .fastcgi(request):
                connection.pending = RecordWriter.response(id: request.id, stdout: exchange.serve(request))
                connection.keepAfterWrite = request.keepConnection
            case let .http(request):
                connection.pending = door.serve(request)
                connection.keepAfterWrite = !request.close
            }
            // Whatever the socket does not take now, the reader finishes (EPOLLOUT, deadline).
            if connection.flush() == nil {
                connection.pending = []
                connection.keepAfterWrite = false
            }
            context.queue.done()
            (connection.owner ?? context.reader).giveBack(connection)
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
