import CDLInferKernels
import DLInferCore

/// A bias added to every product before the activation: one value per row of C (m values, e.g. Conv's per-channel
/// bias with the weights on the left) or one per column (n values, e.g. a Dense layer's bias).
public enum SGEMMBias {
    case none
    case perRow(UnsafePointer<Float>)
    case perColumn(UnsafePointer<Float>)
}

/// A skip connection's other operand, laid out as the C it is added to: the element at `origin + i` gets `values[i]`.
struct Residual {
    let values: UnsafePointer<Float>
    let origin: UnsafePointer<Float>

    @inline(__always)
    func at(_ c: UnsafePointer<Float>) -> UnsafePointer<Float> { values + (c - origin) }
}

/// What happens to a finished part of C, while it is still in cache: bias, then the residual, then activation.
struct Epilogue {
    let bias: SGEMMBias
    let activation: Activation?
    var residual: Residual? = nil

    var isEmpty: Bool {
        if case .none = bias, activation == nil, residual == nil { return true }
        return false
    }

    /// The same for the micro-kernel to apply as it stores a tile whose first row is `row`: nil unless the bias is
    /// per row (or none) and the activation a clamp (Relu, Clip) or none.
    @inline(__always)
    func inKernel(row: Int) -> dl_epilogue? {
        let clamp = activation.flatMap(clampBounds)
        if activation != nil, clamp == nil { return nil }
        let rowBias: UnsafePointer<Float>?
        switch bias {
        case .none: rowBias = nil
        case .perRow(let b): rowBias = b + row
        case .perColumn: return nil
        }
        return dl_epilogue(bias: rowBias, clamp: clamp == nil ? 0 : 1, lo: clamp?.lo ?? 0, hi: clamp?.hi ?? 0,
                           residual: residual?.values, origin: residual?.origin)
    }

    /// Applies to the `rows` x `cols` block at (row, col) of C; `c` points at that element.
    @inline(__always)
    func apply(_ c: UnsafeMutablePointer<Float>, _ ldc: Int, row: Int, col: Int, rows: Int, cols: Int) {
        for i in 0..<rows {
            let p = c + i * ldc
            switch bias {
            case .none: break
            case .perRow(let b): let v = b[row + i]; for j in 0..<cols { p[j] += v }
            case .perColumn(let b): let bp = b + col; for j in 0..<cols { p[j] += bp[j] }
            }
            if let residual { let r = residual.at(p); for j in 0..<cols { p[j] += r[j] } }
            if let activation { activate(activation, p, cols) }
        }
    }
}

/// Applies `act` to `n` contiguous values in place. Each case binds a constant activation, so after inlining
/// `apply` the loop has no switch in it and the cheap ones vectorise.
func activate(_ act: Activation, _ p: UnsafeMutablePointer<Float>, _ n: Int) {
    switch act {
    case .relu:
        let f = Activation.relu
        for j in 0..<n { p[j] = f.apply(p[j]) }
    case .leakyRelu(let a):
        let f = Activation.leakyRelu(alpha: a)
        for j in 0..<n { p[j] = f.apply(p[j]) }
    case .clip(let lo, let hi):
        let f = Activation.clip(min: lo, max: hi)
        for j in 0..<n { p[j] = f.apply(p[j]) }
    case .hardSigmoid(let a, let b):
        let f = Activation.hardSigmoid(alpha: a, beta: b)
        for j in 0..<n { p[j] = f.apply(p[j]) }
    case .sigmoid, .tanh, .elu:
        for j in 0..<n { p[j] = act.apply(p[j]) }
    }
}

/// Relu and Clip as the bounds the C kernels clamp to (their epilogues and the depthwise kernel); nil for the other
/// activations, which are applied separately.
func clampBounds(_ activation: Activation) -> (lo: Float, hi: Float)? {
    switch activation {
    case .relu: return (0, .infinity)
    case .clip(let lo, let hi): return (lo, hi)
    default: return nil
    }
}
