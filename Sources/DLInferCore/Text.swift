public extension StringProtocol {
    /// The text without leading and trailing whitespace (FoundationEssentials has no `trimmingCharacters`).
    var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}
