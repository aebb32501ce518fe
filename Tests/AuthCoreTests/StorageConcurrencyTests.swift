import Foundation
import TestSupport
import Synchronization
import Testing
@testable import AuthCore

@Suite struct StorageConcurrencyTests {
    /// 16 threads, each with its own connection, fail logins for one user at once. (PostgreSQL:
    /// the connections of the pool for the URL, up to 8 at once: the hosts' case.)
    @Test func recordFailureNeverSlipsPastThreshold() throws {
        let dir = try StorageTestDirectory()
        let userID = try StorageFixture(dir.open()).user.id
        let location = dir.location
        let threads = 16, perThread = 10, threshold = 10
        let results = Mutex<[User]>([])
        let errors = Mutex<[String]>([])
        _ = try onThreads(threads) { _ in
            do {
                let db = try location.connect()
                for _ in 0..<perThread {
                    let user = try db.users.recordFailure(userID: userID, now: 1_000, threshold: threshold, lockSeconds: 900)
                    results.withLock { $0.append(user) }
                }
            } catch {
                errors.withLock { $0.append("\(error)") }
            }
        }
        #expect(errors.withLock { $0 }.isEmpty)
        let all = results.withLock { $0 }
        #expect(all.count == threads * perThread)
        // Every call saw a distinct count: no lost update.
        #expect(Set(all.map(\.failedAttempts)) == Set(1...(threads * perThread)))
        for user in all {
            #expect((user.lockedUntil != nil) == (user.failedAttempts >= threshold))
            if let until = user.lockedUntil { #expect(until == 1_900) }
        }
        #expect(all.filter { $0.failedAttempts == threshold && $0.lockedUntil != nil }.count == 1)
        let final = try #require(try dir.open().users.byID(userID))
        #expect(final.failedAttempts == threads * perThread && final.lockedUntil == 1_900)
    }

    /// Many refreshes racing on one counter: exactly one wins.
    @Test func advanceHasExactlyOneWinner() throws {
        let dir = try StorageTestDirectory()
        let db = try dir.open()
        let session = try db.sessions.create(userID: try StorageFixture(db).user.id, now: 1)
        let location = dir.location
        let winners = Mutex(0)
        let errors = Mutex<[String]>([])
        _ = try onThreads(16) { _ in
            do {
                let mine = try location.connect()
                if try mine.sessions.advance(id: session.id, from: 1, now: 2) { winners.withLock { $0 += 1 } }
            } catch {
                errors.withLock { $0.append("\(error)") }
            }
        }
        #expect(errors.withLock { $0 }.isEmpty)
        #expect(winners.withLock { $0 } == 1)
        #expect(try db.sessions.byID(session.id)?.counter == 2)
    }
}
