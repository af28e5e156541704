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
        for (i, d) in Devices.list().enumerated() {
            print("\(i)  \(d.kind == .cpu ? "cpu   " : "opencl")  \(d.name)  (\(d.detail))")
        }
        print("opencl: \(Devices.openCLUnavailableReason)")
        let env = getenv("DLINFER_DEVICE").map { String(cString: $0) }
        let source = env.map { "DLINFER_DEVICE=\($0)" } ?? "auto"
        do {
            let (i, d) = try Devices.select(SessionOptions())
            print("default: device \(i) (\(d.name)), from \(source)")
        } catch let e as DLInferError {
            print("default: none, from \(source): \(e.message)")
        }
    }
}
