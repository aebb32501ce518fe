import AuthCrypto

/// Seams for tests that must force a race at one exact point of a flow (issue 19: a login racing
/// a password change). Each is nil in production: one uncontended lock where a flow passes it.
public final class TestHooks: Sendable {
    private let passwordChecked = Locked<(@Sendable (_ userID: String) -> Void)?>(nil)
    private let codeChecked = Locked<(@Sendable (_ userID: String) -> Void)?>(nil)
    private let tokenChecked = Locked<(@Sendable (_ userID: String) -> Void)?>(nil)

    public init() {}

    /// Called by a login after the password checked out and before anything is written (the
    /// hash upgrade and the success transaction), with the account's id.
    public var afterPasswordCheck: (@Sendable (_ userID: String) -> Void)? {
        get { passwordChecked.withLock { $0 } }
        set { passwordChecked.withLock { $0 = newValue } }
    }

    /// Called by a second-factor verification after the code was checked against the factor as
    /// read and before the transaction that consumes it (issue 21: concurrent submissions).
    public var afterCodeCheck: (@Sendable (_ userID: String) -> Void)? {
        get { codeChecked.withLock { $0 } }
        set { codeChecked.withLock { $0 = newValue } }
    }

    /// Called by a password reset after its token was found live and the new hash made, before
    /// the transaction that consumes the token (issue 23: concurrent submissions of one token).
    public var afterTokenCheck: (@Sendable (_ userID: String) -> Void)? {
        get { tokenChecked.withLock { $0 } }
        set { tokenChecked.withLock { $0 = newValue } }
    }
}
