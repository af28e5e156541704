import DLInferCore

/// Resize and Upsample, every mode the CPU kernel runs. roi, scales and sizes are read on the host, and the per-axis
/// sampling tables come from `Resize.sampling`, the code the CPU kernel uses, so both compute the same coordinates;
/// the tables are uploaded once per input shape and geometry. Nearest is one gather over the output; linear and
/// cubic run one separable pass per resized axis, shrinking axes first as on the CPU, except that two resized axes
/// with few taps (bilinear or bicubic over H and W) are blended in a single pass.
final class ResizeCL: Kernel {
    private let a: Resize, q: CLQueue, pass: CLKernel, pass2D: CLKernel
    /// The most input reads per output for which two axes are blended at once rather than in two passes.
    private static let maxFusedTaps = 16

    /// What one input shape and geometry needs on the device.
    private enum Plan {
        case identity
        /// Per axis, the source's element offset for each output index (-1 outside the input), one table after another.
        case nearest(table: DeviceTensor, bases: [Int])
        /// In pass order.
        case separable([Pass])
    }

    /// One resampled axis: its taps, and per output index the input indices (-1 outside the input) and weights.
    private typealias Pass = (axis: Int, taps: Int, indices: DeviceTensor, weights: DeviceTensor)

    private struct Key: Hashable {
        var shape: [Int]
        var roi: [Double], scales: [Double], sizes: [Int]
    }

    private var plans = [Key: Plan]()
    /// Plans kept at once; input shapes that keep changing would otherwise grow the cache without bound.
    private static let maxPlans = 16

    init(_ a: Resize, _ q: CLQueue) throws {
        self.a = a; self.q = q
        pass = try q.kernel("resize", "resize_axis")
        pass2D = try q.kernel("resize", "resize_2d")
    }

    func run(_ inputs: DeviceInputs, _ outputs: KernelOutputs) throws -> [DeviceTensor?] {
        let x = inputs[0]
        try requireInt32Indexing(x.shape)
        func host(_ i: Int) -> Tensor? { i < inputs.host.count ? inputs.host[i] : nil }
        let key = Key(shape: x.shape, roi: host(1)?.doubleValues() ?? [], scales: host(2)?.doubleValues() ?? [],
                      sizes: host(3)?.intValues() ?? [])
        let plan: Plan
        if let p = plans[key] {
            plan = p
        } else {
            plan = try makePlan(x.shape, try a.geometry(inputShape: x.shape, roi: host(1), scales: host(2), sizes: host(3)))
            if plans.count >= ResizeCL.maxPlans { plans.removeAll() }
            plans[key] = plan
        }
        let shape = outputs.shape(0)
        switch plan {
        case .identity:
            return [x]
        case .nearest(let table, let bases):
            let y = try q.allocate(.float32, shape)
            if y.count == 0 { return [y] }
            try requireInt32Indexing(y.shape)
            try requireAtMost8Dims(shape, op: a.opName)
            let k = try q.kernel("resize", "resize_nearest", defines: "-DRANK=\(shape.count)")
            try q.launch1D(k, y.count, [.buffer(x), .buffer(table), .buffer(y), .int(y.count),
                                        .int8(BroadcastLayout.pad(shape, with: 1)), .int8(BroadcastLayout.pad(bases, with: 0)),
                                        .float(a.extrapolationValue)])
            return [y]
        case .separable(let passes):
            // An empty output has nothing to blend (an empty input axis stays empty, so no pass reads past one).
            if shape.contains(0) { return [try q.allocate(.float32, shape)] }
            if passes.count == 2, passes[0].taps * passes[1].taps <= ResizeCL.maxFusedTaps {
                return [try blend2D(x, shape, passes.sorted { $0.axis < $1.axis })]
            }
            var cur = x
            for (k, p) in passes.enumerated() {
                var next = cur.shape
                next[p.axis] = shape[p.axis]
                let out = try q.allocate(.float32, k == passes.count - 1 ? shape : next)
                try requireInt32Indexing(cur.shape, out.shape)
                let inner = next[(p.axis + 1)...].reduce(1, *)
                try q.launch1D(pass, out.count, [.buffer(cur), .buffer(p.indices), .buffer(p.weights), .buffer(out), .int(out.count),
                                                 .int(cur.shape[p.axis]), .int(next[p.axis]), .int(inner), .int(p.taps),
                                                 .float(a.extrapolationValue)])
                if cur.buffer !== x.buffer { q.recycle(cur.buffer) }
                cur = out
            }
            return [cur]
        }
    }

    private func blend2D(_ x: DeviceTensor, _ shape: [Int], _ p: [Pass]) throws -> DeviceTensor {
        let y = try q.allocate(.float32, shape)
        try requireInt32Indexing(y.shape)
        let (a1, a2) = (p[0].axis, p[1].axis)
        let mid = shape[(a1 + 1)..<a2].reduce(1, *), inner = shape[(a2 + 1)...].reduce(1, *)
        try q.launch1D(pass2D, y.count, [.buffer(x), .buffer(p[0].indices), .buffer(p[0].weights), .buffer(p[1].indices),
                                         .buffer(p[1].weights), .buffer(y), .int(y.count), .int(x.shape[a1]), .int(shape[a1]),
                                         .int(mid), .int(x.shape[a2]), .int(shape[a2]), .int(inner), .int(p[0].taps),
                                         .int(p[1].taps), .float(a.extrapolationValue)])
        return y
    }

    private func makePlan(_ inShape: [Int], _ g: Resize.Geometry) throws -> Plan {
        let tables = inShape.indices.map { a.sampling(axis: $0, inputLength: inShape[$0], geometry: g) }
        if tables.allSatisfy(\.isIdentity) { return .identity }
        func outside(_ t: Resize.AxisSampling, _ o: Int) -> Bool { !t.extrapolated.isEmpty && t.extrapolated[o] }
        if a.mode == .nearest {
            let strides = inShape.contiguousStrides
            var table = [Int32](), bases = [Int]()
            for (axis, t) in tables.enumerated() {
                bases.append(table.count)
                for (o, i) in t.indices.enumerated() { table.append(outside(t, o) ? -1 : Int32(i * strides[axis])) }
            }
            return .nearest(table: try upload(table), bases: bases)
        }
        let order = inShape.indices.filter { !tables[$0].isIdentity }
            .sorted { Double(g.outputShape[$0]) / Double(inShape[$0]) < Double(g.outputShape[$1]) / Double(inShape[$1]) }
        return .separable(try order.map { axis in
            let t = tables[axis]
            var indices = t.indices.map { Int32($0) }
            for o in 0..<g.outputShape[axis] where outside(t, o) { indices[o * t.taps] = -1 }
            return (axis, t.taps, try upload(indices), try upload(t.weights))
        })
    }

    /// Tables go up as they are: the kernels read the weights as float whatever the storage precision.
    private func upload<T: TensorElement>(_ values: [T]) throws -> DeviceTensor {
        try q.uploadExact(Tensor(values, shape: [values.count]))
    }
}
