/// Einsum (opsets 12, 28): numpy's einsum on any number of operands. Each operand's subscripts are letters (a-z,
/// A-Z) and at most one `...`, which stands for its remaining leading dims; the ellipsis dims of all operands
/// broadcast together (numpy rules, aligned right). A letter repeated within one operand takes that operand's
/// diagonal. With `->`, the output lists its letters (each once, each present in an input) and may hold `...`;
/// without it (implicit mode) the output is `...` (when an input has one) followed by the letters that occur exactly
/// once in the whole equation, in ASCII order. Every letter not in the output is summed over. A letter's dims must
/// agree across operands (only ellipsis dims broadcast from 1). Spaces are ignored.
/// Integers wrap on overflow; an empty sum gives 0.
public struct Einsum: OpAttributes {
    public var computeFloatTypes: Set<DType> { [.float32, .float64] }
    /// The ellipsis in `operands` and `output`.
    public static let ellipsis = -1
    public let equation: String
    /// Each operand's subscripts, as ASCII codes of the letters and `ellipsis`.
    public let operands: [[Int]]
    public let output: [Int]
    public static let dtypes: [DType] = [.float32, .float64] + DType.integers

    public init(equation: String) throws {
        self.equation = equation
        let text = equation.filter { !$0.isWhitespace }
        let arrow = text.firstOccurrence(of: "->")
        guard arrow.flatMap({ text.firstOccurrence(of: "->", from: $0.upperBound) }) == nil else {
            throw DLInferError.model("equation '\(equation)' has more than one '->'")
        }
        let lhs = arrow.map { text[..<$0.lowerBound] } ?? text[...]
        operands = try lhs.split(separator: ",", omittingEmptySubsequences: false).map { try Einsum.subscripts(String($0), equation) }
        if let arrow {
            let out = try Einsum.subscripts(String(text[arrow.upperBound...]), equation)
            let used = Set(operands.joined())
            for l in out where l != Einsum.ellipsis {
                guard used.contains(l) else { throw DLInferError.model("equation '\(equation)': output letter '\(Einsum.letter(l))' is in no input") }
            }
            guard Set(out).count == out.count else { throw DLInferError.model("equation '\(equation)' repeats an output letter") }
            output = out
        } else {
            var counts = [Int: Int]()
            for l in operands.joined() where l != Einsum.ellipsis { counts[l, default: 0] += 1 }
            let singles = counts.filter { $0.value == 1 }.keys.sorted()
            output = (operands.contains { $0.contains(Einsum.ellipsis) } ? [Einsum.ellipsis] : []) + singles
        }
    }

    public var opName: String { "Einsum" }

    /// One term's subscripts: letters and at most one `...`.
    private static func subscripts(_ term: String, _ equation: String) throws -> [Int] {
        var out = [Int]()
        let chars = Array(term.utf8)
        var i = 0
        while i < chars.count {
            let c = chars[i]
            if c == UInt8(ascii: ".") {
                guard i + 2 < chars.count, chars[i + 1] == c, chars[i + 2] == c, !out.contains(ellipsis) else {
                    throw DLInferError.model("equation '\(equation)': '\(term)' has a malformed or repeated '...'")
                }
                out.append(ellipsis)
                i += 3
                continue
            }
            guard (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z")) else {
                throw DLInferError.model("equation '\(equation)': '\(term)' holds a character that is not a letter or '...'")
            }
            out.append(Int(c))
            i += 1
        }
        return out
    }

    static func letter(_ l: Int) -> String { String(UnicodeScalar(UInt8(l))) }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        guard inputs.count == operands.count else {
            throw DLInferError.model("equation '\(equation)' has \(operands.count) operand\(operands.count == 1 ? "" : "s"), the node \(inputs.count) input\(inputs.count == 1 ? "" : "s")")
        }
        let xs = try inputs.indices.map { try inputs.required($0, "input \($0)") }
        let dtype = xs[0].type.dtype
        try requireDType(dtype, Einsum.dtypes, "input 0")
        for (k, x) in xs.enumerated() { try requireSameDType(x.type.dtype, as: dtype, "input \(k)") }
        var letters = [Int: Dim]()
        var ellipses = [[Dim]]()
        var ellipsisKnown = true
        for (term, x) in zip(operands, xs) {
            let named = term.filter { $0 != Einsum.ellipsis }.count
            guard let shape = x.type.shape else {
                if term.contains(Einsum.ellipsis) { ellipsisKnown = false }
                continue
            }
            let extra = shape.count - named
            guard extra == 0 || (extra > 0 && term.contains(Einsum.ellipsis)) else {
                throw DLInferError.shape("equation '\(equation)': an operand of rank \(shape.count) has \(named) subscript\(named == 1 ? "" : "s")")
            }
            var d = 0
            for l in term {
                if l == Einsum.ellipsis { ellipses.append(Array(shape[d..<(d + extra)])); d += extra; continue }
                let dim = shape[d]
                if let old = letters[l], let a = old.value, let b = dim.value, a != b {
                    throw DLInferError.shape("equation '\(equation)': letter '\(Einsum.letter(l))' is \(a) in one place and \(b) in another")
                }
                if letters[l]?.value == nil { letters[l] = dim }
                d += 1
            }
        }
        var out = [Dim]()
        for l in output {
            if l == Einsum.ellipsis {
                guard ellipsisKnown else { return [ValueType(dtype, nil)] }
                out += try broadcastShapes(ellipses)
            } else {
                out.append(letters[l] ?? .unknown)
            }
        }
        return [ValueType(dtype, out)]
    }
}
