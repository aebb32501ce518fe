import AuthCrypto
import AuthWS
import CFastCGI
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The demo's FastCGI echo (`--fastcgi-socket PATH`): a minimal single-threaded libfcgi
/// responder answering 200 with its params as JSON (`params` by name, `body_length`), so a
/// test can see exactly which `HTTP_X_AUTH_*` values a FastCGI app (php-fpm, ...) would read.
enum DemoFastCGI {
    /// Binds the socket and initialises libfcgi. Call before starting any other thread.
    static func prepare(socketPath: String) -> Int32? {
        guard FCGX_Init() == 0 else {
            FileHandle.standardError.write(Data("demo fastcgi: FCGX_Init failed\n".utf8))
            return nil
        }
        // libfcgi installs its own SIGTERM/SIGPIPE handlers: restore ours.
        signal(SIGPIPE, SIG_IGN)
        signal(SIGTERM, SIG_DFL)
        do {
            let fd = try UnixListener.bind(path: socketPath, mode: 0o666, group: nil)
            let flags = fcntl(fd, F_GETFL)
            _ = fcntl(fd, F_SETFL, flags & ~O_NONBLOCK)
            FileHandle.standardError.write(Data("demo fastcgi echo listening on \(socketPath)\n".utf8))
            return fd
        } catch {
            FileHandle.standardError.write(Data("demo fastcgi: \(error)\n".utf8))
            return nil
        }
    }

    /// Serves on a background thread (thread entry lives here, not in main.swift: Swift 6
    /// isolation checks would trap on a main-actor closure run on a pthread).
    static func serveInBackground(fd: Int32) {
        let thread = Thread { serve(fd: fd) }
        thread.start()
    }

    static func serve(fd: Int32) -> Never {
        var request = FCGX_Request()
        guard FCGX_InitRequest(&request, fd, 0) == 0 else {
            FileHandle.standardError.write(Data("demo fastcgi: FCGX_InitRequest failed\n".utf8))
            exit(1)
        }
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            guard FCGX_Accept_r(&request) >= 0 else { usleep(1000); continue }
            var params: [(String, JSON)] = []
            var method = "", uri = ""
            if var p = authgate_fcgx_envp(&request) {
                while let entry = p.pointee {
                    let line = String(cString: entry)
                    if let eq = line.firstIndex(of: "=") {
                        let name = String(line[..<eq]), value = String(line[line.index(after: eq)...])
                        params.append((name, .string(value)))
                        if name == "REQUEST_METHOD" { method = value }
                        if name == "REQUEST_URI" { uri = value }
                    }
                    p += 1
                }
            }
            // Read stdin to EOF, or the kept connection would be out of sync.
            var bodyLength = 0
            let input = authgate_fcgx_in(&request)
            while true {
                let n = chunk.withUnsafeMutableBytes { authgate_fcgx_read($0.baseAddress, Int32($0.count), input) }
                if n <= 0 { break }
                bodyLength += Int(n)
            }
            let body = JSON.object([("method", .string(method)), ("uri", .string(uri)),
                                    ("body_length", .int(Int64(bodyLength))), ("params", .object(params))]).encoded()
            let head = Array("Status: 200 OK\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\n\r\n".utf8)
            let out = authgate_fcgx_out(&request)
            _ = head.withUnsafeBytes { authgate_fcgx_write($0.baseAddress, Int32($0.count), out) }
            _ = body.withUnsafeBytes { authgate_fcgx_write($0.baseAddress, Int32($0.count), out) }
            FCGX_Finish_r(&request)
        }
    }
}
