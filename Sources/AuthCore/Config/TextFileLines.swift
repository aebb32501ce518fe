extension StringProtocol {
    /// The lines of a text file, whatever its line ends: LF, CRLF (one `Character` in Swift, so
    /// `split(separator: "\n")` never splits a CRLF file: review finding 11) or a lone CR. Empty
    /// lines are kept, so a line's offset + 1 is its line number.
    var textFileLines: [SubSequence] {
        split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" })
    }
}
