import DLInferCore

/// pool_f32's modes (POOL_*).
enum PoolMode: Int32, KernelCode {
    static let prefix = "POOL"
    case max, average, averageIncludePad
}

/// A window over 1 to 3 spatial axes as pool.cl and conv.cl take it (`UNPACK_WINDOW_3D` in common.cl): int4
/// (depth, height, width) vectors of the input and output sizes, the window, its strides, dilations and leading pads;
/// fewer spatial axes are leading axes of size 1.
struct WindowArgs {
    let input: [Int], output: [Int], kernel: [Int], strides: [Int], dilations: [Int], padBegin: [Int]

    init(input: [Int], output: [Int], window: Window, padBegin: [Int]) {
        self.input = cubic(input, 1); self.output = cubic(output, 1); kernel = cubic(window.kernel, 1)
        strides = cubic(window.strides, 1); dilations = cubic(window.dilations, 1); self.padBegin = cubic(padBegin, 0)
    }

    var args: [CLArg] { [input, output, kernel, strides, dilations, padBegin].map { .int4($0 + [0]) } }
}

/// MaxPool (with or without its Indices output) and AveragePool over 1 to 3 spatial axes (fewer run as leading axes of size 1): one
/// work-item per output element.
final class PoolCL: Kernel {
    private let a: Pool, q: CLQueue, k: CLKernel
    init(_ a: Pool, _ q: CLQueue) throws { self.a = a; self.q = q; k = try q.kernel("pool", "pool_f32") }

    func run(_ inputs: DeviceInputs, _ outputs: KernelOutputs) throws -> [DeviceTensor?] {
        let x = inputs[0]
        let y = try q.allocate(.float32, outputs.shape(0))
        let indices = outputs.wanted(1) ? try q.allocate(.int64, outputs.shape(1)) : nil
        guard y.count > 0 else { return [y, indices] }
        try requireInt32Indexing(x.shape, y.shape)
        let win = a.window
        let (out, padBegin) = try win.resolve(Array(x.shape[2...]))
        let mode: PoolMode
        switch a.kind {
        case .max: mode = .max
        case .average(let includePad): mode = includePad ? .averageIncludePad : .average
        case .lp: throw DLInferError(.internal, "LpPool has no OpenCL kernel")
        }
        let padEnd = try x.shape[2...].indices.map { try win.padEnd($0 - 2, input: x.shape[$0]) }
        let geometry = WindowArgs(input: Array(x.shape[2...]), output: out, window: win, padBegin: padBegin)
        if let indices, case .max(let columnMajor) = a.kind {
            // Windows only count taps inside the input: no end pads.
            let kernel = try q.kernel("pool", "max_pool_indices")
            try q.launch1D(kernel, y.count, [.buffer(x), .buffer(y), .buffer(indices), .int(y.count), .flag(columnMajor)]
                + geometry.args)
            return [y, indices]
        }
        try q.launch1D(k, y.count, [.buffer(x), .buffer(y), .int(y.count), .code(mode)] + geometry.args
            + [.int4(cubic(padEnd, 0) + [0])])
        return [y]
    }
}

/// GlobalAveragePool / GlobalMaxPool: one work-group per (n, c) plane reducing in local memory.
final class GlobalPoolCL: Kernel {
    private let isMax: Bool, q: CLQueue, k: CLKernel
    init(_ a: GlobalPool, _ q: CLQueue) throws {
        isMax = a.kind == .max
        self.q = q
        k = try q.kernel("pool", "global_pool_f32")
    }

    func run(_ inputs: DeviceInputs, _ outputs: KernelOutputs) throws -> [DeviceTensor?] {
        let x = inputs[0]
        let y = try q.allocate(.float32, outputs.shape(0))
        guard y.count > 0 else { return [y] }
        try requireInt32Indexing(x.shape, y.shape)
        let size = x.shape[2...].reduce(1, *)
        // A power of two no larger than the plane needs (a 7x7 plane gets 64 work-items, not 256).
        var group = 1
        while group < min(size, 256, k.maxWorkGroupSize) && group * 2 <= k.maxWorkGroupSize { group *= 2 }
        try q.launch(k, global: [y.count * group], local: [group],
                     [.buffer(x), .buffer(y), .int(size), .flag(isMax), .local(group * 4)])
        return [y]
    }
}
