/// A transport-free HTTP response.
public struct Response: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(String, String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public static func json(_ status: Int, _ body: [UInt8], headers: [(String, String)] = []) -> Response {
        Response(status: status,
                 headers: [("Content-Type", "application/json"), ("Cache-Control", "no-store")] + headers,
                 body: body)
    }

    public func header(_ name: String) -> String? {
        let lower = name.lowercased()
        return headers.first(where: { $0.0.lowercased() == lower })?.1
    }
}
