import Testing
@testable import AuthCore
import AuthCrypto

@Test func envelopeShapes() {
    let e = APIProfile.twoSignal.error(code: "not_found", message: "not found").encodedString
    #expect(e == #"{"data":null,"error":{"code":"not_found","message":"not found"}}"#)
    let s = APIProfile.get2dial.success(.object([("a", .int(1))])).encodedString
    #expect(s == #"{"status":"success","data":{"a":1}}"#)
}
