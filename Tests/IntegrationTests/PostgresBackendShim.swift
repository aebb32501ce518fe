import TestSupport
import AuthCore

// TEMPORARY, until the PostgreSQL backend (main) is merged: its `Database(url:)` replaces this.
extension Database {
    convenience init(url: String) throws {
        throw SupportError("the PostgreSQL backend is not merged into this branch yet (\(url))")
    }
}
