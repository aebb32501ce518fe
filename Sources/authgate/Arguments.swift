/// A tiny argument parser: `authgate <group> [<action>] [--flag] [--option value]...`.
/// Options are declared per command so an unknown flag is a usage error (exit 2).
struct Arguments {
    var options: [String: String] = [:]
    var flags: Set<String> = []

    /// Options every command accepts.
    static let globalOptions: Set<String> = ["db", "config"]
    static let globalFlags: Set<String> = ["json", "help"]

    /// Parses `words` (everything after the command words) against the declared names.
    /// A command with a `positional` name takes one bare word, stored under that name.
    static func parse(_ words: [String], options allowed: Set<String>, flags allowedFlags: Set<String>,
                      positional: String? = nil) throws(CLIError) -> Arguments {
        var result = Arguments()
        var index = 0
        while index < words.count {
            let word = words[index]
            index += 1
            guard word.hasPrefix("--"), word.count > 2 else {
                if let positional, result.options[positional] == nil, !word.hasPrefix("-") {
                    result.options[positional] = word
                    continue
                }
                throw .usage("unexpected argument '\(word)'")
            }
            var name = String(word.dropFirst(2))
            var inlineValue: String?
            if let eq = name.firstIndex(of: "=") {
                inlineValue = String(name[name.index(after: eq)...])
                name = String(name[..<eq])
            }
            if allowed.contains(name) || globalOptions.contains(name) {
                let value: String
                if let inlineValue {
                    value = inlineValue
                } else {
                    guard index < words.count else { throw .usage("--\(name) needs a value") }
                    value = words[index]
                    index += 1
                }
                guard result.options[name] == nil else { throw .usage("--\(name) given twice") }
                result.options[name] = value
            } else if allowedFlags.contains(name) || globalFlags.contains(name) {
                guard inlineValue == nil else { throw .usage("--\(name) takes no value") }
                result.flags.insert(name)
            } else {
                throw .usage("unknown option --\(name)")
            }
        }
        return result
    }

    func has(_ flag: String) -> Bool { flags.contains(flag) }

    func optional(_ name: String) -> String? { options[name] }

    func required(_ name: String) throws(CLIError) -> String {
        guard let value = options[name] else { throw .usage("missing --\(name)") }
        return value
    }

    func int(_ name: String) throws(CLIError) -> Int? {
        guard let raw = options[name] else { return nil }
        guard let value = Int(raw), value >= 0 else { throw .usage("--\(name) must be a non-negative integer") }
        return value
    }
}

/// Every failure the CLI reports: one line on stderr, exit 2 for usage errors, 1 otherwise.
enum CLIError: Error {
    case usage(String)
    case failure(String)

    var message: String {
        switch self {
        case let .usage(m), let .failure(m): m
        }
    }

    var exitCode: Int32 {
        if case .usage = self { 2 } else { 1 }
    }
}
