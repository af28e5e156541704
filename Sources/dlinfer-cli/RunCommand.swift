import ArgumentParser
import DLInferCore
import DLInferEngine

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a model once on .npy inputs and write each output as OUTPUT_NAME.npy.",
        discussion: """
            Inputs and outputs are NumPy .npy files in C order (fortran_order arrays are rejected). Types numpy \
            lacks (bfloat16, the 8-bit floats, int4, ...) are raw bytes, as numpy saves ml_dtypes' arrays \
            ('V2', 'V1'): view an output with .view(ml_dtypes.<type>). Prints each output's type and file, then \
            the time the run took (planning included, which a first run does; `dlinfer bench` times steady-state \
            runs).
            """)

    @Argument(help: "The ONNX model file.")
    var model: String

    @Option(name: [.short, .customLong("input")], help: ArgumentHelp("An input as NAME=FILE.npy; repeat for each model input.", valueName: "name=file.npy"))
    var inputs: [String] = []

    @Option(name: [.short, .customLong("output-dir")], help: ArgumentHelp("Folder for the outputs (created if missing).", valueName: "dir"))
    var outputDir: String

    @OptionGroup var deviceOptions: DeviceOptions

    func validate() throws {
        for i in inputs where i.split(separator: "=", maxSplits: 1).count != 2 {
            throw ValidationError("--input '\(i)' is not NAME=FILE.npy")
        }
    }

    func run() throws {
        let m = try Model.load(path: model)
        let session = try InferenceSession(model: m, options: deviceOptions.sessionOptions)
        var named = [String: Tensor]()
        for i in inputs {
            let parts = i.split(separator: "=", maxSplits: 1).map(String.init)
            guard named[parts[0]] == nil else { throw ValidationError("input '\(parts[0])' is given twice") }
            named[parts[0]] = try NPY.read(path: parts[1], raw: m.inputs.first { $0.name == parts[0] }?.type.dtype)
        }
        try Files.makeDirectories(outputDir)
        let clock = ContinuousClock()
        let start = clock.now
        let outs = try session.run(named)
        let elapsed = clock.now - start
        for v in m.outputs {
            // Output names may hold characters that are not valid in a file name.
            let file = Files.join(outputDir, String(v.name.map { $0 == "/" || $0 == "\0" ? "_" : $0 }) + ".npy")
            let t = outs[v.name]!
            try NPY.write(t, path: file)
            print("\(v.name): \(t.dtype) [\(t.shape.map(String.init).joined(separator: ", "))] -> \(file)")
        }
        print("run: \(formatMilliseconds(milliseconds(elapsed))) ms on \(session.deviceName)")
    }
}
