import AuthCrypto
import Foundation
import Testing
@testable import AuthWS

/// Replays the libFuzzer seed corpora and regression inputs (Tests/Fuzz/corpus, Tests/Fuzz/regressions)
/// in process, with the invariants of the fuzz targets that need no database: every input that
/// `make fuzz` ever reported stays fixed in `make test`.
@Suite struct FuzzRegressionTests {
    static let fuzzRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        url.deleteLastPathComponent()
        url.deleteLastPathComponent()
        return url.path + "/Fuzz"
    }()

    static func inputs(_ target: String) -> [(String, [UInt8])] {
        var out: [(String, [UInt8])] = []
        for kind in ["corpus", "regressions"] {
            let dir = "\(fuzzRoot)/\(kind)/\(target)"
            for name in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] {
                if let data = FileManager.default.contents(atPath: "\(dir)/\(name)") { out.append(("\(kind)/\(target)/\(name)", Array(data))) }
            }
        }
        return out
    }

    @Test func corporaArePresent() {
        for t in ["json", "jwt", "credential", "query", "body", "fcgi_params", "fcgi_records", "ws_upgrade", "ws_frame"] {
            #expect(!Self.inputs(t).isEmpty, "no seeds for \(t)")
        }
        #expect(Self.inputs("json").contains { $0.0.hasPrefix("regressions/") })
    }

    @Test func jsonInputs() {
        for (name, bytes) in Self.inputs("json") {
            if let v = JSONParser.parse(bytes) { #expect(JSONParser.parse(v.encoded()) == v, "\(name)") }
        }
        #expect(JSONParser.parse(Array("[0,\t]".utf8)) == nil)
        #expect(JSONParser.parse(Array(#"{"a":1,"a":2}"#.utf8)) == nil)
        #expect(JSONParser.parse([9, 0, 0, 0, 0x38, 0, 0, 0, 0]) == nil)
    }

    @Test func credentialAndQueryInputs() {
        let ring = KeyRing(keys: [SigningKey(kid: "k1", secret: Array(repeating: 0x41, count: 32))])
        for (name, bytes) in Self.inputs("credential") + Self.inputs("jwt") {
            let text = String(decoding: bytes, as: UTF8.self)
            #expect("\(CredentialKind.classify(text))" == "\(CredentialKind(credential: text))", "\(name)")
            if let (sid, counter) = RefreshToken.parse(text, ring: ring) {
                #expect(RefreshToken.make(sessionID: sid, counter: counter, ring: ring) == text, "\(name)")
            }
            _ = JWT.verify(text, ring: ring, issuer: "authgate", audience: "2signal", now: 1_800_000_000, leeway: 30)
        }
        for (name, bytes) in Self.inputs("query") {
            let q = String(decoding: bytes, as: UTF8.self)
            if case let .success(tenant?) = Query.tenant(q) {
                #expect(Query.parameters(q).filter { $0.name == "tenant_id" }.count == 1, "\(name) \(tenant)")
            }
        }
    }

    @Test func webSocketInputs() {
        for (name, bytes) in Self.inputs("ws_upgrade") {
            for kind in [HTTPUpgradeParser.Kind.request, .response] {
                var p = HTTPUpgradeParser(kind: kind, maxHeadSize: 2048)
                _ = p.feed(Array(bytes.dropFirst()))
                #expect(p.bufferedCount <= 2048, "\(name)")
            }
        }
        for (name, bytes) in Self.inputs("ws_frame") {
            for source in [FrameParser.Source.client, .server] {
                var p = FrameParser(source: source, maxPayload: 1 << 16)
                let payload = Array(bytes.dropFirst())
                _ = try? p.events(payload)
                #expect(Bool(true), "\(name)")
            }
        }
    }
}
