/// A family of codes that a kernel argument takes (an op, a mode, an activation, a fault bit). The OpenCL sources
/// name each code `<prefix>_<CASE_NAME>` (the case name in UPPER_SNAKE: `hardSigmoid` is ACT_HARD_SIGMOID) and never
/// define it: every program is built with the defines of every family (`KernelCodes.defines`), so the numbers live
/// only here and a kernel naming a code Swift does not define fails to build.
protocol KernelCode: CaseIterable, RawRepresentable where RawValue == Int32 {
    static var prefix: String { get }
}

extension KernelCode {
    /// The macro the kernels name this code by.
    var macro: String { Self.prefix + "_" + upperSnake(String(describing: self)) }

    /// Every case's macro.
    static var macros: [String] { allCases.map(\.macro) }

    /// `-D<macro>=<value>` for every case.
    static var defines: [String] { allCases.map { "-D\($0.macro)=\($0.rawValue)" } }

    /// The codes as one bit mask (families whose values are bits).
    static func mask(_ codes: [Self]) -> Int { codes.reduce(0) { $0 | Int($1.rawValue) } }
}

/// `camelCase` as CAMEL_CASE (an upper-case letter starts a word, digits stay with theirs).
func upperSnake(_ name: String) -> String {
    var out = ""
    for c in name {
        if c.isUppercase && !out.isEmpty { out += "_" }
        out += c.uppercased()
    }
    return out
}

enum KernelCodes {
    /// Every code family the kernels use. A new family must be listed here: OpenCLKernelCodesTests checks that
    /// every `<prefix>_*` name in kernels/*.cl is defined and every code is named by some kernel.
    static let families: [any KernelCode.Type] = [
        CLQueue.Fault.self, ActivationCode.self, ReduceCombine.self, ReduceMap.self, ReduceFinish.self,
        UnaryCode.self, BinaryCode.self, UnaryMathCode.self, ComparisonCode.self, LogicCode.self, IntegerArithCode.self,
        PadMode.self, ScatterCode.self, PoolMode.self, RecurrentActivationCode.self, NormStat.self, ZeroPoint.self,
    ]

    /// Sizes and sentinels that the launchers and the kernels share, defined from Swift like the codes.
    static let constants: [(name: String, value: Int)] = [
        ("DW_RUN", ConvCL.depthwiseRun), ("TAP_OUTSIDE", Int(DirectConv.outside)), ("RNN_BT", RecurrentCL.batchTile),
    ]

    /// Every family's and constant's defines, in the build options of every program (computed once).
    static let defines: String = (families.flatMap { $0.defines } + constants.map { "-D\($0.name)=(\($0.value))" })
        .joined(separator: " ")
}

/// How `combine` and `group_reduce` (kernels/common.cl) fold two values: the reductions, softmax's and attention's
/// maximum and sum, normalization's sums.
enum ReduceCombine: Int32, KernelCode {
    static let prefix = "REDUCE"
    case sum, max, min, prod
}

extension CLArg {
    /// A kernel code argument (an `int` in OpenCL C).
    static func code<C: KernelCode>(_ c: C) -> CLArg { .int(Int(c.rawValue)) }
    /// A yes/no argument: 1 or 0.
    static func flag(_ b: Bool) -> CLArg { .int(b ? 1 : 0) }
}
