import DLInferCore
import DLInferCPU
#if canImport(Glibc)
import Glibc
#endif

/// The device grammar shared by the `device` option and `DLINFER_DEVICE`:
/// `auto` | `cpu` | `opencl` | `opencl:N` | `opencl:TEXT`.
public enum DeviceRequest: Equatable, Sendable {
    case auto, cpu
    case opencl(selector: String?)

    public init(parsing text: String) throws {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        switch t {
        case "", "auto": self = .auto
        case "cpu": self = .cpu
        case "opencl": self = .opencl(selector: nil)
        default:
            guard t.hasPrefix("opencl:"), t.count > 7 else {
                throw DLInferError.invalid("device '\(text)' is not one of auto, cpu, opencl, opencl:N, opencl:NAME")
            }
            self = .opencl(selector: String(t.dropFirst(7)))
        }
    }
}

private extension String {
    func trimmingCharacters(in _: Whitespace) -> String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
    enum Whitespace { case whitespaces }
}

/// A device as listed by `dlinfer devices`.
public struct DeviceInfo: Sendable {
    public enum Kind: Int32, Sendable { case cpu = 1, opencl = 2 }
    public var kind: Kind
    public var name: String
    public var detail: String
}

public enum Devices {
    /// Index 0 is always the CPU; OpenCL devices follow once the OpenCL backend exists.
    public static func list() -> [DeviceInfo] {
        [DeviceInfo(kind: .cpu, name: "CPU", detail: "\(Threads.count) threads")]
    }

    /// Why OpenCL cannot be used in this build.
    public static let openCLUnavailableReason = "the OpenCL backend is not available yet in this version of dlinfer"

    /// The device (index into `list()`) a session created with `options` runs on; throws as session creation would.
    public static func select(_ options: SessionOptions) throws -> (index: Int, info: DeviceInfo) {
        _ = try resolve(option: options.device, fallbackToCPU: options.fallbackToCPU)
        // Every request that resolves runs on the CPU until the OpenCL backend exists.
        return (0, list()[0])
    }

    /// Resolves option > DLINFER_DEVICE > auto into the backends to use, in preference order.
    static func resolve(option: String?, fallbackToCPU: Bool) throws -> (request: DeviceRequest, backends: [Backend], note: String?) {
        let source: String
        let text: String
        if let option, !option.isEmpty { text = option; source = "the device option" }
        else if let env = getenv("DLINFER_DEVICE"), !String(cString: env).isEmpty { text = String(cString: env); source = "DLINFER_DEVICE" }
        else { text = "auto"; source = "default" }
        let request: DeviceRequest
        do { request = try DeviceRequest(parsing: text) } catch let e as DLInferError {
            throw DLInferError(e.kind, "\(e.message) (from \(source))")
        }
        switch request {
        case .cpu: return (request, [CPUBackend()], nil)
        case .auto: return (request, [CPUBackend()], "auto chose the CPU: \(openCLUnavailableReason)")
        case .opencl:
            if fallbackToCPU { return (request, [CPUBackend()], "'\(text)' requested, running on the CPU: \(openCLUnavailableReason)") }
            throw DLInferError(.deviceUnavailable, "device '\(text)' (from \(source)) cannot be used: \(openCLUnavailableReason); available: cpu. Set the option fallback=cpu to run on the CPU instead")
        }
    }
}
