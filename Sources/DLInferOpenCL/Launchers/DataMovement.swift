import DLInferCore

// Concat, Split, Slice, Transpose and Expand are strided copies (CLStridedCopy); Pad and Gather have their own
// kernels in kernels/datamovement.cl. All but Pad move every element type (as bits). Outputs that equal their input
// (an empty slice range, a permutation of size-1 dims, zero pads) are views of the input's buffer, as on the CPU.

final class ConcatCL: Kernel {
    private let a: Concat, q: CLQueue, copy: CLStridedCopy
    init(_ a: Concat, _ q: CLQueue) { self.a = a; self.q = q; copy = CLStridedCopy(q) }

    func run(_ inputs: DeviceInputs, _ outputs: KernelOutputs) throws -> [DeviceTensor?] {
        let y = try q.allocate(outputs.dtype(0), outputs.shape(0))
        let axis = try normalizeAxis(a.axis, rank: y.shape.count)
        let strides = y.shape.contiguousStrides
        var at = 0
        for case let x? in inputs.device {
            try copy.enqueue(x, strides: x.shape.contiguousStrides, into: y, dstOffset: at * strides[axis], dstStrides: strides, dims: x.shape)
            at += x.shape[axis]
        }
        return [y]
    }
}

final class SplitCL: Kernel {
    private let a: Split, q: CLQueue, copy: CLStridedCopy
    init(_ a: Split, _ q: CLQueue) { self.a = a; self.q = q; copy = CLStridedCopy(q) }

    func run(_ inputs: DeviceInputs, _ outputs: KernelOutputs) throws -> [DeviceTensor?] {
        let x = inputs[0]
        let axis = try normalizeAxis(a.axis, rank: x.shape.count)
        let split = inputs.host.count > 1 ? inputs.host[1]?.intValues() : nil
        let strides = x.shape.contiguousStrides
        var at = 0
        return try a.sizes(dim: x.shape[axis], split: split).enumerated().map { k, size in
            defer { at += size }
            guard outputs.wanted(k) else { return nil }
            let y = try q.allocate(x.dtype, outputs.shape(k))
            try copy.enqueue(x, offset: at * strides[axis], strides: strides, into: y, dstStrides: y.shape.contiguousStrides, dims: y.shape)
            return y
        }
    }
}

/// Starts, ends, axes and steps are read on the host; negative steps become negative strides.
final class SliceCL: Kernel {
    private let q: CLQueue, copy: CLStridedCopy
    init(_ q: CLQueue) { self.q = q; copy = CLStridedCopy(q) }

    func run(_ inputs: DeviceInputs, _ outputs: KernelOutputs) throws -> [DeviceTensor?] {
        let x = inputs[0]
        func ints(_ i: Int) -> [Int]? { i < inputs.host.count ? inputs.host[i]?.intValues() : nil }
        guard let starts = ints(1), let ends = ints(2) else { throw DLInferError.model("Slice needs starts and ends") }
        let ranges = try Slice.ranges(rank: x.shape.count, starts: starts, ends: ends, axes: ints(3), steps: ints(4))
        let strides = x.shape.contiguousStrides
        var offset = 0, shape = x.shape, steps = strides
        for (d, r) in ranges.enumerated() {
            guard let r else { continue }
            let (start, count) = Slice.resolve(r, dim: x.shape[d])
            offset += start * strides[d]
            shape[d] = count
            // A step past the end selects one element: its stride is never used (size-1 dims are dropped).
            steps[d] = count > 1 ? r.step * strides[d] : 0
        }
        if shape == x.shape, ranges.allSatisfy({ $0 == nil || $0!.step == 1 }) { return [x] }
        let y = try q.allocate(x.dtype, shape)
        try copy.enqueue(x, offset: offset, strides: steps, into: y, dstStrides: shape.contiguousStrides, dims: shape)
        return [y]
    }
}

final class TransposeCL: Kernel {
    private let a: Transpose, q: CLQueue, copy: CLStridedCopy
    init(_ a: Transpose, _ q: CLQueue) { self.a = a; self.q = q; copy = CLStridedCopy(q) }

    func run(_ inputs: DeviceInputs, _ outputs: KernelOutputs) throws -> [DeviceTensor?] {
        let x = inputs[0]
        let perm = try a.permutation(rank: x.shape.count)
        let shape = perm.map { x.shape[$0] }
        if perm.filter({ x.shape[$0] != 1 }) == x.shape.indices.filter({ x.shape[$0] != 1 }) { return [x.reshaped(shape)] }
        let y = try q.allocate(x.dtype, shape)
        let strides = x.shape.contiguousStrides
        try copy.enqueue(x, strides: perm.map { strides[$0] }, into: y, dstStrides: shape.contiguousStrides, dims: shape)
        return [y]
    }
}

/// The shape is read on the host; broadcast dims read the input with stride 0.
final class ExpandCL: Kernel {
    private let copy: CLStridedCopy
    init(_ q: CLQueue) { copy = CLStridedCopy(q) }

    func run(_ inputs: DeviceInputs, _ outputs: KernelOutputs) throws -> [DeviceTensor?] {
        [try copy.broadcast(inputs[0], to: outputs.shape(0))]
    }
}

/// pad_f32's modes (PAD_*).
enum PadMode: Int32, KernelCode {
    static let prefix = "PAD"
    case constant, reflect, edge, wrap
}

/// Pads and axes are read on the host; one kernel serves every mode, computing each output's source per axis.
final class PadCL: Kernel {
    private let a: Pad, q: CLQueue, mode: PadMode
    init(_ a: Pad, _ q: CLQueue) {
        self.a = a; self.q = q
        switch a.mode {
        case .constant: mode = .constant
        case .reflect: mode = .reflect
        case .edge: mode = .edge
        case .wrap: mode = .wrap
        }
    }

    func run(_ inputs: DeviceInputs, _ outputs: KernelOutputs) throws -> [DeviceTensor?] {
        let x = inputs[0]
        guard let pads = inputs.host[1]?.intValues() else { throw DLInferError.model("pads must be int64") }
        let axes = inputs.host.count > 3 ? inputs.host[3]?.intValues() : nil
        let widths = try a.perAxis(rank: x.shape.count, pads: pads, axes: axes)
        if x.shape.isEmpty || widths.allSatisfy({ $0 == (0, 0) }) { return [x] }
        var shape = [Int](), lead = [Int](), start = [Int](), kept = [Int]()
        for (d, n) in x.shape.enumerated() {
            let w = widths[d]
            shape.append(try a.outputLength(n, w, axis: d))
            lead.append(max(w.begin, 0))
            start.append(max(-w.begin, 0))
            kept.append(n + min(w.begin, 0) + min(w.end, 0))
        }
        let y = try q.allocate(.float32, shape)
        if y.count == 0 { return [y] }
        try requireInt32Indexing(x.shape, y.shape)
        try requireAtMost8Dims(shape, op: "Pad")
        var value = Float(a.value)
        if inputs.host.count > 2, let v = inputs.host[2], v.count > 0 { value = v.floats[0] }
        let k = try q.kernel("datamovement", "pad_f32", defines: "-DRANK=\(shape.count)")
        func arg(_ v: [Int], _ fill: Int) -> CLArg { .int8(BroadcastLayout.pad(v, with: fill)) }
        try q.launch1D(k, y.count, [.buffer(x), .buffer(y), .int(y.count), arg(shape, 1), arg(lead, 0), arg(start, 0),
                                    arg(kept, 0), arg(x.shape.contiguousStrides, 0), .code(mode),
                                    .float(value)])
        return [y]
    }
}

/// Gather with its indices (int32 or int64) on the device, so indices computed there (a detector's kept boxes)
/// never cross; the kernel wraps negative indices and reports one out of range as a fault that fails the run.
final class GatherCL: Kernel {
    private let a: Gather, q: CLQueue
    init(_ a: Gather, _ q: CLQueue) { self.a = a; self.q = q }

    func run(_ inputs: DeviceInputs, _ outputs: KernelOutputs) throws -> [DeviceTensor?] {
        let x = inputs[0], indices = inputs[1]
        let axis = try normalizeAxis(a.axis, rank: x.shape.count)
        let n = x.shape[axis]
        let shape = Array(x.shape[..<axis]) + indices.shape + Array(x.shape[(axis + 1)...])
        guard shape == outputs.shape(0) else { throw DLInferError.shape("Gather gives \(shape), not the inferred \(outputs.shape(0))") }
        let y = try q.allocate(x.dtype, shape)
        if y.count == 0 { return [y] }
        try requireInt32Indexing(x.shape, y.shape)
        let k = try q.kernel("datamovement", "gather_rows", defines: bitsDefine(x) + (indices.dtype == .int64 ? " -DI=long" : " -DI=int"))
        let inner = x.shape[(axis + 1)...].reduce(1, *)
        try q.launch1D(k, y.count, [.buffer(x), .buffer(indices), .buffer(y), .int(y.count), .int(n), .int(indices.count),
                                    .int(inner), .buffer(try q.faults())])
        return [y]
    }
}
