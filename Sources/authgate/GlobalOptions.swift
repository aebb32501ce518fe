import AuthCore
import Foundation

/// CLI conventions shared by every command: global options before or after the command,
/// `authgate help CMD`, `authgate --version`.
enum GlobalOptions {
    enum Outcome { case run([String]), exit(Int32) }

    static func normalize(_ argv: [String]) -> Outcome {
        var leading: [String] = []
        var i = 0
        while i < argv.count, argv[i].hasPrefix("-") {
            let word = argv[i]
            let name = word.split(separator: "=", maxSplits: 1).first.map(String.init) ?? word
            switch name {
            case "--version", "-V":
                Output.line("authgate \(App.version)")
                return .exit(0)
            case "--help", "-h":
                if argv.count == i + 1 { return .run(["--help"]) }
                leading.append("--help")
            case "--db", "--config":
                leading.append(word)
                if !word.contains("=") {
                    guard i + 1 < argv.count else {
                        Output.error("\(name) needs a value")
                        return .exit(2)
                    }
                    i += 1
                    leading.append(argv[i])
                }
            case "--json":
                leading.append(word)
            default:
                Output.error("unknown option \(name) before the command")
                Output.errorLine(CLI.usage)
                return .exit(2)
            }
            i += 1
        }
        var rest = Array(argv[i...])
        // `authgate help CMD...` is `authgate CMD... --help`.
        if rest.first == "help", rest.count > 1 {
            rest = Array(rest.dropFirst()) + ["--help"]
        }
        guard !leading.isEmpty else { return .run(rest) }
        if rest.isEmpty { return .run(leading.contains("--help") ? ["--help"] : []) }
        let words = rest.prefix { !$0.hasPrefix("-") }
        return .run(Array(words) + leading + Array(rest.dropFirst(words.count)))
    }
}
