import AuthFastCGI
import Glibc

/// A complete request and the connection it came on, for a worker.
struct Job: @unchecked Sendable {
    enum Payload {
        case fastcgi(FastCGIRequest)
        /// The HTTP verify door (HTTPDoorRequest).
        case http(HTTPDoorRequest)
    }
    let connection: FastCGIConnection
    let payload: Payload
}

/// The bounded hand-over from the connection reader to one worker pool: the reader never
/// blocks on it, workers block in `take` until a job comes or the queue is closed. At `soft`
/// queued jobs the reader stops accepting for this pool (new connections wait in the kernel's
/// backlog, as they did with libfcgi) until it is back under half; `offer` fails only at
/// `capacity` (requests still arriving on connections accepted before): that one is shed (503).
final class RequestQueue: @unchecked Sendable {
    let capacity: Int
    let soft: Int
    private var jobs: [Job] = []
    private var head = 0
    private var closed = false
    private var mutex = pthread_mutex_t()
    private var ready = pthread_cond_t()
    /// Workers serving a job right now (for the stop: exit once nothing is in flight).
    private(set) var busy = 0

    init(soft: Int) {
        self.soft = soft
        self.capacity = soft * 4
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&ready, nil)
    }

    func offer(_ job: Job) -> Bool {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        guard !closed, jobs.count - head < capacity else { return false }
        jobs.append(job)
        pthread_cond_signal(&ready)
        return true
    }

    /// The next job (the caller counts as busy until `done`), or nil once closed and empty.
    func take() -> Job? {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        while head == jobs.count {
            if closed { return nil }
            pthread_cond_wait(&ready, &mutex)
        }
        let job = jobs[head]
        head += 1
        if head == jobs.count { jobs.removeAll(keepingCapacity: true); head = 0 }
        busy += 1
        return job
    }

    func done() {
        pthread_mutex_lock(&mutex)
        busy -= 1
        pthread_mutex_unlock(&mutex)
    }

    /// Queued, not yet taken.
    var depth: Int {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return jobs.count - head
    }

    /// Queued or being served.
    var inFlight: Int {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return jobs.count - head + busy
    }

    /// Workers finish what is queued, then `take` returns nil.
    func close() {
        pthread_mutex_lock(&mutex)
        closed = true
        pthread_cond_broadcast(&ready)
        pthread_mutex_unlock(&mutex)
    }
}
