/// One header line as received (name case preserved; compare case-insensitively).
public struct HTTPHeader: Equatable, Sendable {
    public var name: String
    public var value: String
    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// A parsed request or response head: start line plus headers.
public struct HTTPHead: Equatable, Sendable {
    public var method = ""
    public var target = ""
    public var version = "HTTP/1.1"
    public var status = 0
    public var reason = ""
    public var headers: [HTTPHeader] = []

    public init() {}

    /// First value of a header, case-insensitive name.
    public func value(_ name: String) -> String? {
        headers.first(where: { $0.name.lowercased() == name.lowercased() })?.value
    }

    public func count(_ name: String) -> Int {
        headers.reduce(0) { $0 + ($1.name.lowercased() == name.lowercased() ? 1 : 0) }
    }

    /// Comma-separated tokens of every occurrence of a header, lowercased and trimmed.
    public func tokens(_ name: String) -> [String] {
        headers.filter { $0.name.lowercased() == name.lowercased() }
            .flatMap { $0.value.split(separator: ",") }
            .map { $0.trimmingSpaces().lowercased() }
            .filter { !$0.isEmpty }
    }

    /// Path part of the target (before `?`).
    public var path: Substring { target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)[0] }

    /// Query part of the target (after `?`), empty when none.
    public var query: Substring {
        guard let q = target.firstIndex(of: "?") else { return "" }
        return target[target.index(after: q)...]
    }
}

extension StringProtocol {
    public func trimmingSpaces() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return String(s)
    }
}
