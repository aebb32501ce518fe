import AuthWS
import Foundation

// authgate-demo-upstream [--socket PATH] [--fastcgi-socket PATH]
//   --socket: HTTP echo of the received request as JSON + WebSocket echo.
//   --fastcgi-socket: FastCGI echo of the received params as JSON (a php-fpm stand-in).
let args = CommandLine.arguments
func value(_ flag: String) -> String? {
    guard let i = args.firstIndex(of: flag), i + 1 < args.count else { return nil }
    return args[i + 1]
}
let httpSocket = value("--socket")
let fastcgiSocket = value("--fastcgi-socket")
guard httpSocket != nil || fastcgiSocket != nil else {
    FileHandle.standardError.write(Data("usage: authgate-demo-upstream [--socket PATH] [--fastcgi-socket PATH]\n".utf8))
    exit(2)
}
if let fastcgiSocket {
    guard let fd = DemoFastCGI.prepare(socketPath: fastcgiSocket) else { exit(1) }
    guard let httpSocket else { DemoFastCGI.serve(fd: fd) }
    DemoFastCGI.serveInBackground(fd: fd)
    exit(DemoUpstream.serve(socketPath: httpSocket))
}
exit(DemoUpstream.serve(socketPath: httpSocket!))
