import CQREncode

/// A QR code as inline SVG, made on the server with libqrencode (no external service, no
/// script): one path of unit squares, a 4-module quiet zone, black on white.
enum QRCodeSVG {
    /// nil when libqrencode cannot encode `text` (too long for a QR code).
    static func svg(_ text: String, pixelsPerModule: Int = 5) -> String? {
        guard let code = text.withCString({ QRcode_encodeString($0, 0, QR_ECLEVEL_M, QR_MODE_8, 1) }) else { return nil }
        defer { QRcode_free(code) }
        let width = Int(code.pointee.width)
        let size = width + 8
        var path = ""
        path.reserveCapacity(width * width * 4)
        for y in 0..<width {
            for x in 0..<width where code.pointee.data[y * width + x] & 1 == 1 {
                path += "M\(x + 4) \(y + 4)h1v1h-1z"
            }
        }
        let pixels = size * pixelsPerModule
        return #"<svg xmlns="http://www.w3.org/2000/svg" id="qr" role="img" aria-label="QR code of the authenticator key" "#
            + #"width="\#(pixels)" height="\#(pixels)" viewBox="0 0 \#(size) \#(size)" shape-rendering="crispEdges">"#
            + #"<rect width="\#(size)" height="\#(size)" fill="white"/><path fill="black" d="\#(path)"/></svg>"#
    }
}
