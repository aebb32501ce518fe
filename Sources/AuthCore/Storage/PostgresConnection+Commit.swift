import CLibpq
import Foundation

/// The COMMIT of a writing transaction under `synchronous_commit` (AUTH_DB_SYNC_COMMIT, issue 24).
/// The server waits for its synchronous standby after the statement timeout is already off, so a
/// standby that never answers would hold the request for ever: the COMMIT is sent without
/// blocking, and past `syncTimeout` the wait is cancelled (PQcancel). The server then says, as a
/// WARNING, that the transaction committed locally but may not be on the standby: not
/// acknowledged, a 503 (busy); the client retries and a revocation is idempotent.
extension PostgresConnection {
    func commitSynchronously() throws {
        guard let c = conn else { throw StorageError.unavailable("the connection to PostgreSQL \(path) was lost inside a transaction") }
        warned.pointee = 0
        guard PQsendQuery(c, "COMMIT") == 1 else { try check(nil, sql: "COMMIT"); return }
        let deadline = Self.monotonic() + behaviour.syncTimeout
        var cancelled = false
        while true {
            guard PQconsumeInput(c) == 1 else { break }
            if PQisBusy(c) == 0 { break }
            let left = cancelled ? 5.0 : deadline - Self.monotonic()
            if left <= 0 {
                cancelled = true
                if let cancel = PQgetCancel(c) {
                    var buffer = [CChar](repeating: 0, count: 256)
                    _ = PQcancel(cancel, &buffer, Int32(buffer.count))
                    PQfreeCancel(cancel)
                }
                continue
            }
            var fd = pollfd(fd: PQsocket(c), events: Int16(POLLIN), revents: 0)
            if poll(&fd, 1, Int32(min(left, 5) * 1000) + 1) == 0 && cancelled { break }   // no answer even to the cancel
        }
        var failure: (any Error)?
        var answered = false
        while PQisBusy(c) == 0, let result = PQgetResult(c) {
            answered = true
            do { try check(result, sql: "COMMIT") } catch { failure = failure ?? error }
            PQclear(result)
        }
        if let failure { throw failure }
        guard answered else {
            abandon()
            throw StorageError.unavailable("PostgreSQL \(path) did not answer a COMMIT (synchronous_commit = \(behaviour.syncCommit ?? "?")) within \(behaviour.syncTimeout) s")
        }
        if cancelled || warned.pointee != 0 {
            throw StorageError(code: .busy, sqlstate: "57014",
                               message: "COMMIT not confirmed by a synchronous standby within \(behaviour.syncTimeout) s (synchronous_commit = \(behaviour.syncCommit ?? "?")): committed on the primary only, answered as not done")
        }
    }
}
