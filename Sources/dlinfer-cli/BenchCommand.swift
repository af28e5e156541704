import ArgumentParser
import DLInferCore
import DLInferEngine
#if canImport(Glibc)
import Glibc
#endif

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time a model on random inputs and print p50/p90/mean latency.",
        discussion: """
            Float inputs are uniform in [0, 1), integer inputs 0, bool inputs false. Symbolic dimensions are 1 \
            unless --shape gives the input's full shape. A progress line is printed to stderr while a run lasts \
            longer than a second.
            """)

    @Argument(help: "The ONNX model file.")
    var model: String

    // Unconditional: `--iters -5` reaches validate() and its message instead of "Missing value".
    @Option(parsing: .unconditional, help: "Timed iterations.")
    var iters = 100

    @Option(parsing: .unconditional, help: "Untimed iterations before timing (planning and caches warm up).")
    var warmup = 10

    @Option(help: ArgumentHelp("An input's full shape as NAME=D1xD2x...; repeat per input.", valueName: "name=1x3x224x224"))
    var shape: [String] = []

    @Flag(help: "After timing, run --iters more times timing every node, and print the time per op type (device nodes are waited for one by one, so a profiled run is slower).")
    var profile = false

    @Option(help: "With --profile, also list the N slowest nodes (milliseconds per run, op, node name).")
    var top = 0

    @OptionGroup var deviceOptions: DeviceOptions

    func validate() throws {
        guard iters >= 1 else { throw ValidationError("--iters must be at least 1") }
        guard warmup >= 0 else { throw ValidationError("--warmup must not be negative") }
        guard top >= 0 else { throw ValidationError("--top must not be negative") }
        guard top == 0 || profile else { throw ValidationError("--top lists nodes of the profile: add --profile") }
        _ = try parsedShapes()
    }

    private func parsedShapes() throws -> [String: [Int]] {
        var out = [String: [Int]]()
        for s in shape {
            let parts = s.split(separator: "=", maxSplits: 1)
            let dims = parts.count == 2 ? parts[1].split(separator: "x", omittingEmptySubsequences: false).map { Int($0) } : []
            guard parts.count == 2, !dims.isEmpty, dims.allSatisfy({ $0 != nil && $0! >= 0 }) else {
                throw ValidationError("--shape '\(s)' is not NAME=D1xD2x... (e.g. input=1x3x224x224)")
            }
            out[String(parts[0])] = dims.map { $0! }
        }
        return out
    }

    func run() throws {
        let m = try Model.load(path: model)
        let session = try InferenceSession(model: m, options: deviceOptions.sessionOptions)
        let shapes = try parsedShapes()
        for name in shapes.keys where m.inputIndex(name) == nil {
            throw DLInferError.invalid("--shape names '\(name)', but the model's inputs are \(m.inputs.map(\.name).joined(separator: ", "))")
        }
        // Seeded: the system generator makes a system call per value (150,000 for one 224x224 image), and the same
        // inputs make runs of one model comparable.
        var rng = SplitMix64(seed: 0)
        var guessed = [String]()
        let inputs = try m.inputs.map { v -> Tensor in
            let dims: [Int]
            if let given = shapes[v.name] { dims = given } else {
                guard let declared = v.type.shape else {
                    throw DLInferError.invalid("the rank of input '\(v.name)' is unknown: give its shape with --shape \(v.name)=D1xD2x...")
                }
                dims = declared.map { $0.value ?? 1 }
                if declared.contains(where: { $0.value == nil }) {
                    guessed.append("\(v.name) [\(declared.map(\.description).joined(separator: ", "))] as \(dims.map(String.init).joined(separator: "x"))")
                }
            }
            let t = try Tensor(dtype: v.type.dtype, shape: dims)
            if v.type.dtype == .float32 { for i in 0..<t.count { t.floats[i] = Float.random(in: 0..<1, using: &rng) } }
            if v.type.dtype == .float64 { for i in 0..<t.count { t.pointer(Double.self)[i] = Double.random(in: 0..<1, using: &rng) } }
            return t
        }
        print("device: \(session.deviceName)\(session.deviceNote.map { " (\($0))" } ?? "")")
        print("inputs: " + zip(m.inputs, inputs).map { "\($0.name)=\($1.shape.map(String.init).joined(separator: "x"))" }.joined(separator: " "))

        let clock = ContinuousClock()
        let start = clock.now
        var lastProgress = start
        let total = warmup + iters
        var times = [Double]()
        times.reserveCapacity(iters)
        let tty = isatty(2) != 0
        for i in 0..<total {
            let t0 = clock.now
            do { _ = try session.run(inputs) } catch let e as DLInferError where i == 0 && !guessed.isEmpty {
                // Symbolic dims set to 1 can be impossible (an image too small for the model's pooling): say so.
                throw DLInferError(e.kind, "\(e.message); the symbolic dimensions were set to 1 (\(guessed.joined(separator: "; "))): "
                                   + "give each input's real shape with --shape NAME=D1xD2x... (e.g. --shape \(m.inputs[0].name)=1x3x224x224)")
            }
            let t1 = clock.now
            if i >= warmup { times.append(milliseconds(t1 - t0)) }
            if t1 - lastProgress > .seconds(1) {
                lastProgress = t1
                fputs("\(tty ? "\r" : "")  \(i + 1)/\(total) runs (\(i < warmup ? "warm-up" : "timed")), \(Int(milliseconds(t1 - start) / 1000)) s\(tty ? "" : "\n")", stderr)
            }
        }
        if tty && lastProgress != start { fputs("\r\u{1B}[K", stderr) }
        let sorted = times.sorted()
        let mean = times.reduce(0, +) / Double(times.count)
        print("runs: \(iters) timed after \(warmup) warm-up")
        print("latency ms: p50 \(formatMilliseconds(percentile(sorted, 0.5)))  p90 \(formatMilliseconds(percentile(sorted, 0.9)))  mean \(formatMilliseconds(mean))  min \(formatMilliseconds(sorted.first!))  max \(formatMilliseconds(sorted.last!))")
        if session.deviceInfo.kind != .cpu {
            let t = session.lastRunTransfers
            print("on the CPU: \(session.cpuNodeCount) of \(session.placements.count) nodes; transfers per run: \(t.uploads) uploads, \(t.downloads) downloads\(t.sizeReads > 0 ? ", \(t.sizeReads) size reads" : "") (the model has \(m.inputs.count) inputs, \(m.outputs.count) outputs)")
        }
        if profile { try printProfile(session, m, inputs) }
    }

    /// Per op type: nodes, milliseconds per run and share of the profiled node time, most expensive first.
    private func printProfile(_ session: InferenceSession, _ m: Model, _ inputs: [Tensor]) throws {
        session.profiling = true
        defer { session.profiling = false }
        for _ in 0..<iters { _ = try session.run(inputs) }
        var byOp = [String: (nodes: Int, seconds: Double)]()
        for (node, t) in zip(m.graph.nodes, session.nodeTimes) {
            byOp[node.op.name, default: (0, 0)].nodes += 1
            byOp[node.op.name, default: (0, 0)].seconds += t
        }
        let total = byOp.values.reduce(0) { $0 + $1.seconds }
        print("profile: \(iters) runs, node time per run \(formatMilliseconds(total * 1000 / Double(iters))) ms")
        print("  op                        nodes   ms/run       %")
        for (op, v) in byOp.sorted(by: { $0.value.seconds > $1.value.seconds }) {
            let ms = v.seconds * 1000 / Double(iters), share = total > 0 ? 100 * v.seconds / total : 0
            print("  \(op.padding(26)) \(String(v.nodes).leftPadding(5)) \(formatMilliseconds(ms).leftPadding(8)) \(String((share * 10).rounded() / 10).leftPadding(7))")
        }
        guard top > 0 else { return }
        print("slowest nodes:")
        print("    ms/run  op                        node")
        let slowest = zip(m.graph.nodes, session.nodeTimes).sorted { $0.1 > $1.1 }.prefix(top)
        for (node, t) in slowest {
            print("  \(formatMilliseconds(t * 1000 / Double(iters)).leftPadding(8))  \(node.op.name.padding(25)) \(node.displayName(in: m.graph))")
        }
    }

    /// Nearest-rank percentile of sorted values.
    private func percentile(_ sorted: [Double], _ p: Double) -> Double {
        sorted[min(sorted.count - 1, max(0, Int((p * Double(sorted.count)).rounded(.up)) - 1))]
    }

}

private extension String {
    func padding(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
    func leftPadding(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}
