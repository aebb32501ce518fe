import AuthWS
import Foundation

// authgate-demo-upstream --socket PATH: HTTP echo of the received request as JSON + WebSocket echo.
let args = CommandLine.arguments
guard let i = args.firstIndex(of: "--socket"), i + 1 < args.count else {
    FileHandle.standardError.write(Data("usage: authgate-demo-upstream --socket PATH\n".utf8))
    exit(2)
}
exit(DemoUpstream.serve(socketPath: args[i + 1]))
