import AuthCrypto

/// Tests only: the SQLite VFS (registered by the test, e.g. Tests/FaultVFS) that databases under
/// a directory are opened with, so a test can inject a full disk or an I/O error at the Nth
/// write or sync of a real database, the way SQLite's own test suite does.
///
/// Deliberately an internal hook, not a setting and not an environment variable: only a test
/// target (`@testable import AuthCore`, debug builds) can reach it, so no configuration, no
/// environment of a running server and no release binary can ever open the store through
/// another VFS. It is keyed by directory because tests of other suites run in the same process
/// at the same time: only the databases under the fault test's own temp dir go through the shim.
enum SQLiteTestVFS {
    private static let overrides = Locked<[(directory: String, vfs: String)]>([])

    /// Databases opened under `directory` from now on use the registered VFS `vfs`.
    static func use(_ vfs: String, under directory: String) {
        let dir = directory.hasSuffix("/") ? directory : directory + "/"
        overrides.withLock { $0.append((dir, vfs)) }
    }

    static func remove(under directory: String) {
        let dir = directory.hasSuffix("/") ? directory : directory + "/"
        overrides.withLock { $0.removeAll { $0.directory == dir } }
    }

    /// The VFS for `path` (nil: SQLite's default). One uncontended lock per connection opened.
    static func name(for path: String) -> String? {
        overrides.withLock { list in list.first { path.hasPrefix($0.directory) }?.vfs }
    }
}
