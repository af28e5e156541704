import DLInferCore
import DLInferCPU
import DLInferOpenCL
#if canImport(Glibc)
import Glibc
#endif

/// The device grammar shared by the `device` option and `DLINFER_DEVICE`:
/// `auto` | `cpu` | `opencl` | `opencl:N` | `opencl:TEXT`.
public enum DeviceRequest: Equatable, Sendable {
    case auto, cpu
    case opencl(selector: String?)

    public init(parsing text: String) throws {
        let t = text.trimmingSpaces.lowercased()
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

/// A device as listed by `dlinfer devices`.
public struct DeviceInfo: Sendable {
    public enum Kind: Int32, Sendable { case cpu = 1, opencl = 2 }
    public var kind: Kind
    /// "cpu" or "opencl:N" (N in `opencl:N` requests).
    public var id: String
    public var name: String
    public var detail: String
}

public enum Devices {
    /// Index 0 is the CPU; every OpenCL device of every platform follows, in `opencl:N` order.
    public static func list() -> [DeviceInfo] {
        [cpu] + OpenCL.devices.map {
            DeviceInfo(kind: .opencl, id: "opencl:\($0.index)", name: $0.name, detail: $0.summary)
        }
    }

    static var cpu: DeviceInfo { DeviceInfo(kind: .cpu, id: "cpu", name: "CPU", detail: "\(Threads.available) threads, \(SGEMMKernel.preferred.name) kernels") }

    /// Entry `index` of `list()`. The CPU's does not look for OpenCL: loading an OpenCL driver maps tens of MB
    /// (PoCL's LLVM) into a process that asked for the CPU.
    static func info(_ index: Int) -> DeviceInfo { index == 0 ? cpu : list()[index] }

    /// Why no OpenCL device can be used, when none can (nil when there is one).
    public static var openCLUnavailableReason: String? { OpenCL.unavailableReason }

    /// The device (index into `list()`) a session created with `options` runs on; throws as session creation would.
    public static func select(_ options: SessionOptions) throws -> (index: Int, info: DeviceInfo) {
        let r = try resolve(options, makeBackend: false)
        return (r.index, info(r.index))
    }

    struct Resolution {
        var request: DeviceRequest
        /// The OpenCL backend when one is chosen (and made); the CPU runs what it cannot.
        var device: OpenCLBackend?
        var host: CPUBackend
        var note: String?
        var index: Int
    }

    /// Resolves the device and the precision of `options` into the backends to use (the OpenCL backend, when one is
    /// chosen, and the CPU for what it cannot run). precision=fp16 stores float32
    /// tensors as half on an OpenCL device (any: half storage is core OpenCL); the CPU backend has no such storage,
    /// so on the CPU it is an error, or with fallback=cpu runs in fp32 with a note saying so.
    static func resolve(_ options: SessionOptions, makeBackend: Bool = true) throws -> Resolution {
        var r = try resolve(option: options.device, fallbackToCPU: options.fallbackToCPU,
                            halfStorage: options.precision == .fp16, makeBackend: makeBackend)
        guard options.precision == .fp16, r.index == 0 else { return r }
        let why = r.note.map { "the session runs on the CPU (\($0))" } ?? "the session runs on the CPU"
        guard options.fallbackToCPU else {
            throw DLInferError.invalid("option precision=fp16 needs an OpenCL device, and \(why), whose kernels store float32; set fallback=cpu to run in fp32 there instead")
        }
        r.note = "precision=fp16 is not honoured: \(why), in fp32"
        return r
    }

    /// Half storage holds float32 values up to 65504 (larger ones saturate). ConvInteger and MatMulInteger give
    /// int32 sums of products of bytes that a dynamically quantized model casts to float32 far beyond that, so such a
    /// model is refused rather than run wrong.
    static func checkHalfStorage(_ graph: Graph) throws {
        for n in graph.nodes {
            switch n.op {
            case .convInteger, .matMulInteger:
                throw DLInferError.invalid("option precision=fp16 cannot run this model: \(n.op.name) node '\(n.name)' gives int32 sums that exceed float16's range (65504) once cast to float32; use precision=fp32")
            default: continue
            }
        }
    }

    /// Resolves option > DLINFER_DEVICE > auto.
    private static func resolve(option: String?, fallbackToCPU: Bool, halfStorage: Bool, makeBackend: Bool) throws -> Resolution {
        let source: String
        let text: String
        if let option, !option.isEmpty { text = option; source = "the device option" }
        else if let env = getenv("DLINFER_DEVICE"), !String(cString: env).isEmpty { text = String(cString: env); source = "DLINFER_DEVICE" }
        else { text = "auto"; source = "default" }
        let request: DeviceRequest
        do { request = try DeviceRequest(parsing: text) } catch let e as DLInferError {
            throw DLInferError(e.kind, "\(e.message) (from \(source))")
        }
        let cpu = Resolution(request: request, device: nil, host: CPUBackend(), note: nil, index: 0)
        if request == .cpu { return cpu }
        let devices = OpenCL.devices
        let chosen: CLDeviceDescription?
        let missing: String
        switch request {
        case .cpu: return cpu
        case .auto:
            chosen = devices.first { $0.isGPU }
            missing = devices.isEmpty ? (OpenCL.unavailableReason ?? "no OpenCL device") : "no OpenCL GPU (found \(available()))"
        case .opencl(nil):
            chosen = devices.first
            missing = OpenCL.unavailableReason ?? "no OpenCL device"
        case .opencl(let selector?):
            if let n = Int(selector) {
                chosen = n >= 0 && n < devices.count ? devices[n] : nil
                missing = "there is no OpenCL device \(n)"
            } else {
                chosen = devices.first { $0.searchText.includes(selector) }
                missing = "no OpenCL platform or device name or vendor contains '\(selector)'"
            }
        }
        let failure: String
        if let chosen {
            do {
                let deny = getenv("DLINFER_OPENCL_DENY").map { String(cString: $0) }
                let host = CPUBackend()
                let device = makeBackend ? try OpenCLBackend(device: chosen, denyOps: deny, halfStorage: halfStorage, host: host) : nil
                return Resolution(request: request, device: device, host: host, note: nil, index: chosen.index + 1)
            } catch let e as DLInferError where e.kind != .invalidArgument {
                failure = e.message
            }
        } else {
            failure = missing
        }
        if request == .auto {
            return Resolution(request: request, device: nil, host: cpu.host, note: "auto chose the CPU: \(failure)", index: 0)
        }
        if fallbackToCPU {
            return Resolution(request: request, device: nil, host: cpu.host, note: "'\(text)' requested, running on the CPU: \(failure)", index: 0)
        }
        throw DLInferError(.deviceUnavailable, "device '\(text)' (from \(source)) cannot be used: \(failure); available: \(available()). Set the option fallback=cpu to run on the CPU instead")
    }

    private static func available() -> String {
        list().map { $0.kind == .cpu ? "cpu" : "\($0.id) (\($0.name))" }.joined(separator: ", ")
    }
}
