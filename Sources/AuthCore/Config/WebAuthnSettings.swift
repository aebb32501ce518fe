import AuthWebAuthn

/// Passkeys (issue 22): the relying party from configuration, never from a request's headers.
/// `AUTH_WEBAUTHN_RP_ID` unset: passkeys are off (their routes answer 404
/// `webauthn_not_configured`). Set: the allowed origins are `AUTH_WEBAUTHN_ORIGINS` (space or comma
/// separated exact origins), else `AUTH_SITE_ORIGIN`; neither set is a start-up error (a guessed
/// origin is what locks users out behind a proxy). The RP ID rule (equal to, or a suffix at a
/// label boundary of, every origin's host) is checked by `WebAuthnRelyingParty`; its reason is
/// the start-up error.
public struct WebAuthnSettings: Sendable {
    public var relyingParty: WebAuthnRelyingParty?
    public var rpID: String?
    public var origins: [String]

    public init(environment env: [String: String], siteOrigin: String?) throws {
        func value(_ name: String) -> String? { env[name].flatMap { $0.isEmpty ? nil : $0 } }
        let listed = (value("AUTH_WEBAUTHN_ORIGINS") ?? "").split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init)
        origins = listed.isEmpty ? siteOrigin.map { [$0] } ?? [] : listed
        rpID = value("AUTH_WEBAUTHN_RP_ID")
        guard let rpID else {
            relyingParty = nil
            return
        }
        guard !origins.isEmpty else {
            throw ConfigError("AUTH_WEBAUTHN_RP_ID is set (\(rpID)) but no origin is: set AUTH_WEBAUTHN_ORIGINS (e.g. https://\(rpID)) or AUTH_SITE_ORIGIN")
        }
        for origin in origins where !BrowserSettings.isOrigin(origin) {
            throw ConfigError("AUTH_WEBAUTHN_ORIGINS takes exact origins like https://auth.example.com (no path, no *), got '\(origin)'")
        }
        do {
            relyingParty = try WebAuthnRelyingParty(rpID: rpID, origins: origins)
        } catch {
            throw ConfigError("AUTH_WEBAUTHN_RP_ID '\(rpID)' does not fit the origins \(origins.joined(separator: " ")): \(error)")
        }
    }

    public var isEnabled: Bool { relyingParty != nil }
}
