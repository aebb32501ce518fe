// The one query parser / percent-decoder (gate and companion). Invariants: an accepted tenant is
// the value of exactly one raw `tenant_id=` pair; no other pair's framework name is tenant_id;
// decode(lenient:) never fails; strict decode either fails or agrees with lenient.
@testable import AuthCrypto

func fuzzOne(_ bytes: [UInt8]) {
    let q = String(decoding: bytes, as: UTF8.self)
    let params = Query.parameters(q)
    for p in params {
        fuzzCheck(!p.pair.isEmpty, "empty pair")
        let lenient = Query.decode(p.name, lenient: true)
        fuzzCheck(lenient != nil, "lenient decode failed for \(p.name)")
        if let strict = Query.decode(p.name) { fuzzCheck(strict == lenient, "strict/lenient disagree on \(p.name)") }
        _ = Query.frameworkName(p.name)
        if let v = p.value { _ = Query.decode(v) }
    }
    if case let .success(tenant?) = Query.tenant(q) {
        let exact = params.filter { $0.name == "tenant_id" }
        fuzzCheck(exact.count == 1 && exact[0].value.map(String.init) == tenant, "tenant \(tenant) not from one exact pair")
        fuzzCheck(!params.contains { $0.name != "tenant_id" && Query.frameworkName($0.name) == "tenant_id" },
                  "disguised tenant_id accepted in \(q)")
    }
}
