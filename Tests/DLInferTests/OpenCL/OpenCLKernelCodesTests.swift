@testable import DLInferOpenCL
import Foundation
import XCTest

/// The contract between the Swift code enums (`KernelCode`) and kernels/*.cl: the kernels name codes only through
/// the defines the enums generate. Needs no device: it reads the embedded sources.
final class OpenCLKernelCodesTests: XCTestCase {
    /// The kernels' code, comments and string-free, as identifier tokens (per file).
    private static let tokens: [String: [Substring]] = EmbeddedKernels.sources.mapValues { source in
        var code = "", i = source.startIndex
        while i < source.endIndex {
            if source[i...].hasPrefix("//") {
                i = source[i...].firstIndex(of: "\n") ?? source.endIndex
            } else if source[i...].hasPrefix("/*") {
                i = source[source.index(i, offsetBy: 2)...].range(of: "*/")?.upperBound ?? source.endIndex
            } else {
                code.append(source[i])
                i = source.index(after: i)
            }
        }
        return code.split { !($0.isLetter || $0.isNumber || $0 == "_") }
    }

    private let families = KernelCodes.families

    /// Every `<PREFIX>_*` identifier of a code family in the kernels is a code some enum defines: a kernel that
    /// names a code Swift does not have (a typo, a removed case) fails here, and fails to build on a device.
    func testEveryCodeTheKernelsNameIsDefined() {
        let defined = Set(families.flatMap { $0.macros })
        let prefixes = families.map { $0.prefix + "_" }
        for (file, tokens) in Self.tokens {
            for t in Set(tokens) where prefixes.contains(where: { t.hasPrefix($0) }) && !defined.contains(String(t)) {
                XCTFail("kernels/\(file).cl names \(t), which no KernelCode enum defines")
            }
        }
    }

    /// No kernel defines a code or a shared constant itself: the numbers live only in Swift.
    func testKernelsDefineNoCodes() {
        let prefixes = families.map { $0.prefix + "_" }
        let constants = Set(KernelCodes.constants.map(\.name))
        for (file, source) in EmbeddedKernels.sources {
            for line in source.split(separator: "\n") {
                let words = line.split(whereSeparator: \.isWhitespace)
                guard words.count >= 2, words[0] == "#define" || words[0] == "#undef" else { continue }
                let name = words[1].prefix { $0 != "(" }
                XCTAssertFalse(prefixes.contains { name.hasPrefix($0) } || constants.contains(String(name)),
                               "kernels/\(file).cl defines \(name) itself: \(line)")
            }
        }
    }

    /// Every code is named by some kernel (in code, not only in a comment): an enum case the kernels never test
    /// would be a value they silently treat as another.
    func testEveryCodeIsUsedByAKernel() {
        let used = Set(Self.tokens.values.joined().map(String.init))
        for f in families {
            for m in f.macros { XCTAssert(used.contains(m), "\(f) defines \(m), which no kernel names") }
        }
        for c in KernelCodes.constants { XCTAssert(used.contains(c.name), "\(c.name) is defined for the kernels but none uses it") }
    }

    /// Macro names are unique across the families, values unique within each, and the build options carry every
    /// code as -D<name>=<value>.
    func testDefinesAreWellFormed() {
        let all = families.flatMap { $0.macros }
        XCTAssertEqual(all.count, Set(all).count, "two codes share a macro name")
        XCTAssertEqual(Set(families.map { $0.prefix }).count, families.count, "two families share a prefix")
        for f in families {
            let defines = f.defines
            let values = defines.map { $0.split(separator: "=").last.map(String.init) ?? "" }
            XCTAssertEqual(values.count, Set(values).count, "\(f) gives two codes one value")
            for d in defines { XCTAssert(KernelCodes.defines.split(separator: " ").contains(Substring(d)), "\(d) is not in the build options") }
        }
        XCTAssertEqual(ActivationCode.hardSigmoid.macro, "ACT_HARD_SIGMOID")
        XCTAssertEqual(CLQueue.Fault.divisionByZero.macro, "FAULT_DIVISION_BY_ZERO")
        XCTAssertEqual(UnaryMathCode.geluTanh.macro, "MATH_GELU_TANH")
    }

    /// Families whose codes are bits (the fault word, masks) have one bit per case.
    func testBitFamiliesHaveOneBitPerCase() {
        for f in [CLQueue.Fault.self, NormStat.self, ZeroPoint.self] as [any KernelCode.Type] {
            let values = f.defines.compactMap { $0.split(separator: "=").last.flatMap { Int($0) } }
            XCTAssert(values.allSatisfy { $0 > 0 && $0 & ($0 - 1) == 0 }, "\(f): \(values) are not single bits")
            XCTAssertEqual(values.reduce(0, |), values.reduce(0, +), "\(f): \(values) overlap")
        }
    }
}
