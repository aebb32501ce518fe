import AuthCrypto
import Foundation
import Synchronization
import TestSupport
import Testing
@testable import AuthCore

/// A store whose answers a test controls: it fails on demand and moves its marker on demand.
final class ScriptedStore: VerifyStore, @unchecked Sendable {
    struct Failure: Error, CustomStringConvertible { var description = "disk I/O error (scripted)" }
    private let lock = NSLock()
    private var failing = false
    private var marker: UInt64 = 0
    private var revoked: [(String, Int64)] = []
    private var seq: Int64 = 0

    func fail(_ on: Bool) { lock.withLock { failing = on } }
    /// A revocation committed now: the marker moves.
    func revoke(_ sid: String) {
        lock.withLock {
            revoked.append((sid, Time.now()))
            seq += 1
            marker += 1
        }
    }
    /// Something irrelevant committed: the marker moves, the log does not.
    func touch() { lock.withLock { marker += 1 } }

    func changeMarker() -> VerifyChangeMarker? { lock.withLock { VerifyChangeMarker([marker]) } }
    func loadAll(revokedSince: Int64, disabledSince: Int64) throws -> VerifyLoad {
        try lock.withLock {
            if failing { throw Failure() }
            return VerifyLoad(watermark: seq, revokedSessions: revoked, blockedUsers: [], apiKeys: [:], nodes: [:])
        }
    }
    func changes(after watermark: Int64, limit: Int, disabledSince: Int64) throws -> VerifyDelta {
        try lock.withLock {
            if failing { throw Failure() }
            let new = Array(revoked[Int(watermark)...])
            return .changes(watermark: seq, revokedSessions: new, users: [], keys: nil)
        }
    }
}

@Suite struct VerifyStateFailureTests {
    static let sid = "0123abcd-4567-89ef-0123-456789abcdef"

    /// A store that cannot be read: fresh while nothing was committed, refused (not stale data
    /// served forever) once it has been unreadable for longer than the bound, and fresh again
    /// by itself when reads work again, with what was revoked meanwhile.
    @Test func staleFailsClosedAndRecovers() throws {
        let store = ScriptedStore()
        let state = VerifyState(store: store, bounds: .init(retainSeconds: 3600, maxTokenLifetime: 3600, maxStaleSeconds: 0.3))
        let reader = state.makeReader()
        #expect(reader.isFresh() && reader.check(Self.sid, "u") == .ok)

        // Unreadable, but nothing committed: the data is still current.
        store.fail(true)
        state.refreshIfChanged()
        #expect(reader.isFresh() && state.health.error == nil)

        // A revocation commits while the store cannot be read.
        store.revoke(Self.sid)
        state.refreshIfChanged()
        #expect(state.health.error != nil)
        #expect(reader.check(Self.sid, "u") == .ok, "not applied: the store cannot be read")
        try waitFor("the state to turn stale (bound 0.3 s)", timeout: 5) { !reader.isFresh() }
        #expect(!state.health.fresh)

        // Reads work again: recovered by the next refresh (here: the reader's own).
        store.fail(false)
        #expect(reader.isFresh())
        #expect(reader.check(Self.sid, "u") == .revoked)
        #expect(state.health.fresh && state.health.error == nil)
    }

    /// Nobody refreshes (no refresher thread, no writes): the reader confirms the data itself
    /// once the bound has passed, cheaply, and stays fresh.
    @Test func readersRefreshWhenTheRefresherIsAbsent() throws {
        let store = ScriptedStore()
        let state = VerifyState(store: store, bounds: .init(retainSeconds: 3600, maxTokenLifetime: 3600, maxStaleSeconds: 0.05))
        let reader = state.makeReader()
        store.revoke(Self.sid)
        let deadline = Deadline(0.5)
        while !deadline.passed { #expect(reader.isFresh()) }
        #expect(reader.check(Self.sid, "u") == .revoked)
    }

    /// The refresher thread applies a commit of another process within a few ticks.
    @Test func refresherAppliesChanges() throws {
        let store = ScriptedStore()
        let state = VerifyState(store: store, bounds: .init(retainSeconds: 3600, maxTokenLifetime: 3600, maxStaleSeconds: 1))
        state.startRefresher(intervalMillis: 5)
        defer { state.stopRefresher() }
        let reader = state.makeReader()
        store.revoke(Self.sid)
        try waitFor("the refresher to apply a revocation", timeout: 5, every: 1_000) { reader.check(Self.sid, "u") == .revoked }
        store.touch()
        try waitFor("the refresher to confirm the state after an unrelated commit", timeout: 5, every: 1_000) {
            state.health.ageMillis < 100
        }
    }
}
