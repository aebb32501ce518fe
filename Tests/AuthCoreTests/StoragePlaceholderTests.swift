import Foundation
import TestSupport
import Testing
@testable import AuthCore

/// Review hardening: `PostgresSQL.translate` numbered a bare `?` after `?N` from its own count
/// (`?1, ?` became `$1, $1`), where SQLite numbers it one past the largest so far (`?1, ?2`).
/// Now both stores bind the same values to the same SQL text, whatever the mix.
@Suite struct StoragePlaceholderTests {
    @Test func translationNumbersAsSQLiteDoes() {
        #expect(PostgresSQL.translate("?1, ?") == "$1, $2")
        #expect(PostgresSQL.translate("?, ?3, ?") == "$1, $3, $4")
        #expect(PostgresSQL.translate("?2, ?1, ?") == "$2, $1, $3")
        #expect(PostgresSQL.translate("?, ?, ?1") == "$1, $2, $1")
        #expect(PostgresSQL.translate("'?' || ?1 || \"?\" || ?") == "'?' || $1 || \"?\" || $2")
    }

    /// The same mixed SQL on the run's store gives the same row.
    @Test func mixedPlaceholdersBindTheSameValuesOnBothStores() throws {
        let db = try StorageTestDirectory().open()
        let row = try db.connection.queryFirst("SELECT CAST(?1 AS TEXT), CAST(? AS TEXT), CAST(?1 AS TEXT)",
                                               [.text("a"), .text("b")]) { [$0.text(0), $0.text(1), $0.text(2)] }
        #expect(row == ["a", "b", "a"])
    }
}
