import ArgumentParser
import DLInferCore
import DLInferEngine
#if canImport(Glibc)
import Glibc
#endif

struct DevicesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devices",
        abstract: "List the devices dlinfer can run on, and the one a session would use by default.")

    func run() throws {
        for d in Devices.list() {
            print("\(d.id.padding(9))  \(d.kind == .cpu ? "CPU: \(d.detail)" : d.detail)")
        }
        if let why = Devices.openCLUnavailableReason { print("opencl: \(why)") }
        let env = getenv("DLINFER_DEVICE").map { String(cString: $0) }
        let source = env.map { "DLINFER_DEVICE=\($0)" } ?? "auto"
        do {
            let (_, d) = try Devices.select(SessionOptions())
            print("default: \(d.id) (\(d.name)), from \(source)")
        } catch let e as DLInferError {
            print("default: none, from \(source): \(e.message)")
        }
    }
}

private extension String {
    func padding(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
}
