import ArgumentParser
import DLInferCore
import DLInferEngine
#if canImport(Glibc)
import Glibc
#endif

/// Exit codes: 0 success, 1 a model or run error (message on stderr), 2 a usage error.
@main
struct DLInferCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dlinfer",
        abstract: "Run ONNX models with dlinfer.",
        discussion: """
            Exit status: 0 on success, 1 when the model cannot be loaded or run (the reason is printed on stderr), \
            2 on a usage error. The device is chosen by --device, else the DLINFER_DEVICE environment variable, \
            else auto (the first OpenCL GPU, else the CPU).
            """,
        version: "\(Version.string)",
        subcommands: [DevicesCommand.self, InfoCommand.self, RunCommand.self, BenchCommand.self, OpsCommand.self])

    func run() throws { throw ValidationError("a subcommand is required: devices, info, run, bench or ops") }

    static func main() {
        let args = Array(CommandLine.arguments.dropFirst())
        if let first = args.first, !first.hasPrefix("-"), !subcommandNames.contains(first) {
            let near = subcommandNames.filter { editDistance($0, first) <= 2 }
            fputs("dlinfer: error: unknown command '\(first)'\(near.isEmpty ? "" : "; did you mean '\(near.joined(separator: "' or '"))'?") "
                  + "Commands: \(subcommandNames.joined(separator: ", ")) (see dlinfer --help)\n", stderr)
            Glibc.exit(2)
        }
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let e as DLInferError {
            fputs("dlinfer: error: \(e.message)\n", stderr)
            Glibc.exit(1)
        } catch {
            // Help and --version exit 0 through ArgumentParser; everything else it reports is a usage error.
            if exitCode(for: error) == .success { exit(withError: error) }
            fputs(fullMessage(for: error) + "\n", stderr)
            Glibc.exit(2)
        }
    }
}

extension DLInferCommand {
    static var subcommandNames: [String] { configuration.subcommands.compactMap { $0.configuration.commandName } }
}

/// Levenshtein distance, for suggesting the command a user meant.
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    var row = Array(0...b.count)
    for i in 1...max(a.count, 1) where i <= a.count {
        var previous = row[0]
        row[0] = i
        for j in 1...max(b.count, 1) where j <= b.count {
            let current = row[j]
            row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] == b[j - 1] ? 0 : 1))
            previous = current
        }
    }
    return row[b.count]
}

/// --device, --fallback and --precision, shared by the commands that create a session.
struct DeviceOptions: ParsableArguments {
    @Option(help: "Device: auto (first OpenCL GPU, else CPU), cpu, opencl, opencl:N (see `dlinfer devices`) or opencl:NAME (platform or device name or vendor contains NAME) (default: $DLINFER_DEVICE, else auto).")
    var device: String?

    @Option(help: "When the requested device cannot be used: none (fail, the default) or cpu (run on the CPU).")
    var fallback: String?

    @Option(help: "How an OpenCL device stores float32 tensors: fp32 (the default) or fp16 (half the memory and bandwidth; computation stays in float32; values beyond ±65504 saturate). Not available on the CPU, unless --fallback cpu, which then runs in fp32.")
    var precision: String?

    func validate() throws {
        if let device { do { _ = try DeviceRequest(parsing: device) } catch let e as DLInferError { throw ValidationError(e.message) } }
        if let fallback, fallback != "cpu", fallback != "none" { throw ValidationError("--fallback must be 'none' or 'cpu'") }
        if let precision, SessionOptions.Precision(rawValue: precision) == nil { throw ValidationError("--precision must be 'fp32' or 'fp16'") }
    }

    var sessionOptions: SessionOptions {
        var o = SessionOptions()
        o.device = device
        o.fallbackToCPU = fallback == "cpu"
        o.precision = precision.flatMap(SessionOptions.Precision.init(rawValue:)) ?? .fp32
        return o
    }
}

func describe(_ type: ValueType) -> String {
    guard let shape = type.shape else { return "\(type.dtype) [rank unknown]" }
    return "\(type.dtype) [\(shape.map(\.description).joined(separator: ", "))]"
}

func milliseconds(_ d: Duration) -> Double {
    Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15
}

/// Milliseconds to three decimals.
func formatMilliseconds(_ v: Double) -> String { String((v * 1000).rounded() / 1000) }
