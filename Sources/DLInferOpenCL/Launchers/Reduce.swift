import DLInferCore

/// How reduce.cl maps each value before combining (REDUCE_MAP_*).
enum ReduceMap: Int32, KernelCode {
    static let prefix = "REDUCE_MAP"
    case none, abs, square
}

/// How reduce.cl finishes a result after dividing it (REDUCE_FINISH_*).
enum ReduceFinish: Int32, KernelCode {
    static let prefix = "REDUCE_FINISH"
    case none, sqrt, log
}

/// Every float32 reduction but ReduceLogSumExp. As on the CPU, the input's dims are collapsed into alternating runs of kept and reduced
/// dims, and each reduced run becomes one (outer, n, inner) stage, innermost first, so every stage reads contiguous
/// memory: a work-group per row when the run is innermost (and not short), a work-item per column otherwise. A stage with too few
/// groups to fill the device (a global sum) is cut into pieces reduced in parallel, then combined by the next stage;
/// pieces are kept in float (`CLQueue.scratch`) whatever the storage precision.
final class ReduceCL: Kernel {
    private let a: Reduce, q: CLQueue, rows: CLKernel, cols: CLKernel, fill: CLKernel
    /// Work-groups (row stages) and work-items (column stages) worth splitting groups for.
    private static let rowGroupsWanted = 256, columnItemsWanted = 1 << 16

    init(_ a: Reduce, _ q: CLQueue) throws {
        self.a = a; self.q = q
        rows = try q.kernel("reduce", "reduce_rows")
        cols = try q.kernel("reduce", "reduce_cols")
        fill = try q.kernel("reduce", "fill_f32")
    }

    /// The kernels' combine op, map of each value and finish for a reduction; nil for LogSumExp, which runs on the
    /// CPU.
    static func steps(_ kind: Reduce.Kind) -> (op: ReduceCombine, pre: ReduceMap, post: ReduceFinish)? {
        switch kind {
        case .sum, .mean: return (.sum, .none, .none)
        case .max: return (.max, .none, .none)
        case .min: return (.min, .none, .none)
        case .prod: return (.prod, .none, .none)
        case .l1: return (.sum, .abs, .none)
        case .l2: return (.sum, .square, .sqrt)
        case .sumSquare: return (.sum, .square, .none)
        case .logSum: return (.sum, .none, .log)
        case .logSumExp: return nil
        }
    }

    func run(_ inputs: DeviceInputs, _ outputs: KernelOutputs) throws -> [DeviceTensor?] {
        let x = inputs[0]
        let given = inputs.host.count > 1 ? inputs.host[1]?.intValues() : nil
        guard let axes = try a.reducedAxes(rank: x.shape.count, axes: given) else { return [x] }
        let outShape = a.outputShape(x.shape, reducing: axes)
        let reducedCount = axes.reduce(1) { $0 * x.shape[$1] }
        guard let (op, pre, post) = ReduceCL.steps(a.kind) else {
            throw DLInferError(.internal, "\(a.opName) has no OpenCL kernel")
        }
        if reducedCount == 1 && pre == .none && post == .none { return [x.reshaped(outShape)] }
        let y = try q.allocate(.float32, outShape)
        if y.count == 0 { return [y] }
        if x.count == 0 {
            let value: Float = [.max: -.infinity, .min: .infinity, .prod: 1, .mean: .nan, .logSum: -.infinity][a.kind] ?? 0
            try q.launch1D(fill, y.count, [.buffer(y), .int(y.count), .float(value)])
            return [y]
        }
        try requireInt32Indexing(x.shape)
        if reducedCount == 1 {
            // Nothing to combine, but each value still goes through the map and the finish (|x|, sqrt(x^2), log x).
            try q.launch1D(cols, y.count, [.buffer(x), .buffer(y), .int(y.count), .int(1), .int(1), .int(1), .int(1),
                                           .code(op), .code(pre), .code(post), .float(1)])
            return [y]
        }
        var runs = [(n: Int, reduced: Bool)]()
        for (i, d) in x.shape.enumerated() where d != 1 {
            let r = axes.contains(i)
            if let last = runs.last, last.reduced == r { runs[runs.count - 1].n *= d } else { runs.append((d, r)) }
        }
        var cur = x
        var fromPieces = false
        while let g = runs.lastIndex(where: \.reduced) {
            let outer = runs[..<g].reduce(1) { $0 * $1.n }, n = runs[g].n
            let inner = runs[(g + 1)...].reduce(1) { $0 * $1.n }
            let local = rows.reductionGroupSize(n)
            let perRow = inner == 1 && n >= minWorkGroupRow
            let wanted = perRow ? (ReduceCL.rowGroupsWanted + outer - 1) / outer
                                : (ReduceCL.columnItemsWanted + outer * inner - 1) / (outer * inner)
            let longest = perRow ? n / (8 * local) : n / 64
            var chunks = max(1, min(wanted, longest))
            let chunk = (n + chunks - 1) / chunks
            chunks = (n + chunk - 1) / chunk
            let final = chunks == 1 && !runs[..<g].contains(where: \.reduced)
            let out = final ? y : try q.scratch([outer * chunks * inner])
            let stage = try q.kernel("reduce", perRow ? "reduce_rows" : "reduce_cols",
                                     defines: (fromPieces ? "-DSRC_PIECES " : "") + (final ? "" : "-DDST_PIECES"))
            let divisor: Float = final && a.kind == .mean ? Float(reducedCount) : 1
            // The map reads x (the first stage only); the finish writes y (the last).
            let stagePre = cur.buffer === x.buffer ? pre : .none, stagePost = final ? post : .none
            if perRow {
                let local = min(local, stage.reductionGroupSize(n))
                try q.launch(stage, global: [outer * chunks * local], local: [local],
                             [.buffer(cur), .buffer(out), .int(n), .int(chunk), .int(chunks), .code(op), .code(stagePre),
                              .code(stagePost), .float(divisor), .local(local * 4)])
            } else {
                let total = outer * chunks * inner
                try q.launch1D(stage, total, [.buffer(cur), .buffer(out), .int(total), .int(n), .int(inner), .int(chunk),
                                             .int(chunks), .code(op), .code(stagePre), .code(stagePost), .float(divisor)])
            }
            // The in-order queue runs this stage before anything that reuses the previous scratch buffer.
            if cur.buffer !== x.buffer { q.recycle(cur.buffer) }
            cur = out
            fromPieces = !final
            if chunks > 1 {
                runs[g].n = chunks
                continue
            }
            runs.remove(at: g)
            if g > 0, g < runs.count, !runs[g - 1].reduced, !runs[g].reduced {
                runs[g - 1].n *= runs[g].n
                runs.remove(at: g)
            }
        }
        return [y]
    }
}
