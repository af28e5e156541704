public extension StringProtocol {
    /// The text without leading and trailing whitespace (FoundationEssentials has no `trimmingCharacters`).
    var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}

// Substring search without the standard library's `firstRange(of:)`, `ranges(of:)` and `contains(_:)` for strings:
// those live in _StringProcessing, whose regex engine (1.4 MB) would be linked into the library for them alone. The
// library's modules are compiled without _StringProcessing (Package.swift), so they use these.
public extension StringProtocol {
    /// The first occurrence of `pattern` at or after `start`, comparing Characters (as `firstRange(of:)` does); an
    /// empty pattern occurs at `start`.
    func firstOccurrence(of pattern: some StringProtocol, from start: Index? = nil) -> Range<Index>? {
        var i = start ?? startIndex
        while true {
            var a = i, b = pattern.startIndex
            while b != pattern.endIndex, a != endIndex, self[a] == pattern[b] {
                formIndex(after: &a)
                pattern.formIndex(after: &b)
            }
            if b == pattern.endIndex { return i..<a }
            if i == endIndex { return nil }
            formIndex(after: &i)
        }
    }

    /// Whether `pattern` occurs in the text (as `contains(_:)` with a string argument).
    func includes(_ pattern: some StringProtocol) -> Bool { firstOccurrence(of: pattern) != nil }
}
