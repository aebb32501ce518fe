// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "authgate",
    products: [
        .library(name: "AuthCore", targets: ["AuthCore"]),
        .executable(name: "authgate-fcgi", targets: ["authgate-fcgi"]),
        .executable(name: "authgate-ws", targets: ["authgate-ws"]),
        .executable(name: "authgate", targets: ["authgate"]),
        .executable(name: "authgate-demo-upstream", targets: ["authgate-demo-upstream"]),
    ],
    targets: [
        .systemLibrary(name: "CFastCGI", path: "Sources/CFastCGI", pkgConfig: "fcgi",
                       providers: [.apt(["libfcgi-dev"])]),
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite", pkgConfig: "sqlite3",
                       providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "COpenSSL", path: "Sources/COpenSSL", pkgConfig: "libcrypto",
                       providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CLibpq", path: "Sources/CLibpq", pkgConfig: "libpq",
                       providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CEpoll", path: "Sources/CEpoll"),
        // The enrolment page's QR code (issue 21), rendered as inline SVG on the server.
        .systemLibrary(name: "CQREncode", path: "Sources/CQREncode", pkgConfig: "libqrencode",
                       providers: [.apt(["libqrencode-dev"])]),
        // The mail outbox's SMTP transport (issue 23): STARTTLS, certificate checks and AUTH from a
        // well-kept client library instead of an SMTP client of our own.
        .systemLibrary(name: "CCurl", path: "Sources/CCurl", pkgConfig: "libcurl",
                       providers: [.apt(["libcurl4-openssl-dev"])]),
        // Crypto primitives and token formats: no storage, no transport.
        .target(name: "AuthCrypto", dependencies: ["COpenSSL"]),
        // Everything that is not transport: config, storage, accounts, sessions, verify, API.
        // WebAuthn relying-party checks (issue 22): strict CBOR, COSE keys, attestation, assertion.
        .target(name: "AuthWebAuthn", dependencies: ["AuthCrypto", "COpenSSL"]),
        .target(name: "AuthCore", dependencies: ["AuthCrypto", "AuthWebAuthn", "CSQLite", "CLibpq", "CQREncode", "CCurl"]),
        // The one strict HTTP/1.1 request/response head parser: the companion's upgrade requests
        // and the responder's HTTP verify door (AUTH_VERIFY_HTTP_SOCKET). No dependencies.
        .target(name: "AuthHTTP"),
        // WebSocket companion: frame parser, epoll loop, relay (head parser: AuthHTTP).
        .target(name: "AuthWS", dependencies: ["AuthCore", "AuthHTTP", "CEpoll", "AuthCrypto"]),
        // FastCGI records: the request parser and the answer writer of the responder's transport.
        .target(name: "AuthFastCGI"),
        .executableTarget(name: "authgate-fcgi", dependencies: ["AuthCore", "AuthFastCGI", "AuthHTTP", "CFastCGI", "CEpoll"]),
        .executableTarget(name: "authgate-ws", dependencies: ["AuthWS", "AuthCore"]),
        .executableTarget(name: "authgate", dependencies: ["AuthCore"]),
        // The demo's sample upstream: HTTP echo of received headers + WebSocket echo.
        .executableTarget(name: "authgate-demo-upstream", dependencies: ["AuthWS", "CFastCGI"]),
        // make bench (scripts/bench.sh): in-process verify/JWT/scrypt timings, token minting, WebSocket load.
        .executableTarget(name: "authgate-bench", dependencies: ["AuthCore", "AuthCrypto"]),
        // Test support both test targets share: child processes reaped with deadlines, waits,
        // temp dirs, thread runners, binary lookup. Foundation and Glibc only.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        // Tests only: a SQLite VFS that fails the Nth write/sync/truncate (FaultInjectionTests).
        // Tests only: a software WebAuthn authenticator (OpenSSL keys) for unit and integration tests.
        .target(name: "WebAuthnTestSupport", dependencies: ["AuthWebAuthn", "AuthCrypto", "COpenSSL"],
                path: "Tests/WebAuthnTestSupport"),
        .target(name: "FaultVFS", dependencies: ["CSQLite"], path: "Tests/FaultVFS"),
        .testTarget(name: "AuthCoreTests", dependencies: ["AuthCore", "AuthCrypto", "AuthWS", "AuthHTTP", "AuthFastCGI", "TestSupport", "FaultVFS"],
                    resources: [.copy("Vectors")]),
        .testTarget(name: "IntegrationTests", dependencies: ["AuthCore", "AuthCrypto", "TestSupport", "WebAuthnTestSupport"]),
        .testTarget(name: "AuthWebAuthnTests", dependencies: ["AuthWebAuthn", "AuthCrypto", "WebAuthnTestSupport"],
                    resources: [.copy("Fixtures")]),
    ],
    swiftLanguageModes: [.v6]
)
