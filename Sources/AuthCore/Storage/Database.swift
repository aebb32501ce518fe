// STUB (lead): H2 replaces this file entirely.
import CSQLite

public final class Database {
    let handle: OpaquePointer?
    public init(path: String) throws { handle = nil }
    public func migrate() throws {}
    public func isReachable() -> Bool { true }
}
