import COpenCL
import DLInferCore
import Synchronization

/// One OpenCL device as discovered: what `dlinfer devices` lists and what selection matches against.
public struct CLDeviceDescription: @unchecked Sendable {
    public let index: Int
    public let platformName: String
    public let platformVendor: String
    public let name: String
    public let vendor: String
    public let isGPU: Bool
    public let typeName: String
    public let globalMemory: UInt64
    public let localMemory: UInt64
    public let maxAllocation: UInt64
    public let computeUnits: Int
    public let maxWorkGroupSize: Int
    public let driverVersion: String
    public let version: String
    public let extensions: String
    /// "FULL_PROFILE" or "EMBEDDED_PROFILE".
    public let profile: String
    let platform: cl_platform_id
    let id: cl_device_id

    /// What `opencl:TEXT` matches against (lower-cased): platform name and vendor, device name and vendor, so that
    /// "nvidia", "pocl" (whose platform is "Portable Computing Language" by "The pocl project"), "intel" all work.
    public var searchText: String { "\(platformName) \(platformVendor) \(name) \(vendor)".lowercased() }

    /// 64-bit integers in kernels: required of full-profile devices, an extension of embedded ones.
    public var supportsInt64: Bool { profile == "FULL_PROFILE" || extensions.split(separator: " ").contains { $0 == "cles_khr_int64" } }

    public var summary: String {
        "\(name) [\(platformName)], \(typeName), \(globalMemory >> 20) MiB, \(computeUnits) compute units, \(version), driver \(driverVersion)"
    }
}

/// The OpenCL loader and the devices it offers, found once per process.
public enum OpenCL {
    struct Loaded: @unchecked Sendable {
        let api: UnsafePointer<dlcl_api>?
        let reason: String
    }

    static let loaded: Loaded = {
        var buffer = [CChar](repeating: 0, count: 512)
        let api = dlcl_load(&buffer, buffer.count)
        return Loaded(api: api, reason: String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }()

    /// The entry points, or an error saying why OpenCL cannot be used.
    static func api() throws -> dlcl_api {
        guard let api = loaded.api else { throw DLInferError(.deviceUnavailable, "OpenCL is unavailable: \(loaded.reason)") }
        return api.pointee
    }

    struct Discovery: @unchecked Sendable {
        let devices: [CLDeviceDescription]
        let problem: String?
    }

    static let discovery: Discovery = {
        do {
            let devices = try discover()
            return Discovery(devices: devices, problem: devices.isEmpty ? "no OpenCL platform offers a device" : nil)
        } catch let e as DLInferError {
            return Discovery(devices: [], problem: e.message)
        } catch {
            return Discovery(devices: [], problem: "\(error)")
        }
    }()

    /// Every device of every platform, in platform order: `opencl:N` indexes this list.
    public static var devices: [CLDeviceDescription] { discovery.devices }
    /// Why there is no OpenCL device, if there is none.
    public static var unavailableReason: String? { discovery.problem }

    private static func discover() throws -> [CLDeviceDescription] {
        let cl = try api()
        var count: cl_uint = 0
        let rc = cl.GetPlatformIDs(0, nil, &count)
        // An ICD loader with no vendor driver registered reports "platform not found".
        if rc == -1001 || count == 0 { return [] }
        try CLStatus.check(rc, "clGetPlatformIDs")
        var platforms = [cl_platform_id?](repeating: nil, count: Int(count))
        try CLStatus.check(cl.GetPlatformIDs(count, &platforms, nil), "clGetPlatformIDs")
        var result = [CLDeviceDescription]()
        for case let platform? in platforms {
            let platformName = (try? platformString(cl, platform, cl_uint(CL_PLATFORM_NAME))) ?? "unknown platform"
            let platformVendor = (try? platformString(cl, platform, cl_uint(CL_PLATFORM_VENDOR))) ?? ""
            var n: cl_uint = 0
            guard cl.GetDeviceIDs(platform, cl_device_type(CL_DEVICE_TYPE_ALL), 0, nil, &n) == 0, n > 0 else { continue }
            var ids = [cl_device_id?](repeating: nil, count: Int(n))
            guard cl.GetDeviceIDs(platform, cl_device_type(CL_DEVICE_TYPE_ALL), n, &ids, nil) == 0 else { continue }
            for case let id? in ids {
                let type: cl_device_type = try deviceValue(cl, id, CL_DEVICE_TYPE)
                let typeName = type & cl_device_type(CL_DEVICE_TYPE_GPU) != 0 ? "GPU"
                    : type & cl_device_type(CL_DEVICE_TYPE_CPU) != 0 ? "CPU"
                    : type & cl_device_type(CL_DEVICE_TYPE_ACCELERATOR) != 0 ? "accelerator" : "other"
                let cus: cl_uint = try deviceValue(cl, id, CL_DEVICE_MAX_COMPUTE_UNITS)
                let wg: Int = try deviceValue(cl, id, CL_DEVICE_MAX_WORK_GROUP_SIZE)
                result.append(CLDeviceDescription(
                    index: result.count, platformName: platformName, platformVendor: platformVendor,
                    name: try deviceString(cl, id, CL_DEVICE_NAME), vendor: try deviceString(cl, id, CL_DEVICE_VENDOR),
                    isGPU: typeName == "GPU", typeName: typeName,
                    globalMemory: try deviceValue(cl, id, CL_DEVICE_GLOBAL_MEM_SIZE),
                    localMemory: try deviceValue(cl, id, CL_DEVICE_LOCAL_MEM_SIZE),
                    maxAllocation: try deviceValue(cl, id, CL_DEVICE_MAX_MEM_ALLOC_SIZE),
                    computeUnits: Int(cus), maxWorkGroupSize: wg,
                    driverVersion: try deviceString(cl, id, CL_DRIVER_VERSION),
                    version: try deviceString(cl, id, CL_DEVICE_VERSION),
                    extensions: try deviceString(cl, id, CL_DEVICE_EXTENSIONS),
                    profile: try deviceString(cl, id, CL_DEVICE_PROFILE),
                    platform: platform, id: id))
            }
        }
        return result
    }

    private static func platformString(_ cl: dlcl_api, _ p: cl_platform_id, _ what: cl_uint) throws -> String {
        var size = 0
        try CLStatus.check(cl.GetPlatformInfo(p, what, 0, nil, &size), "clGetPlatformInfo")
        var bytes = [UInt8](repeating: 0, count: size + 1)
        try CLStatus.check(cl.GetPlatformInfo(p, what, size, &bytes, nil), "clGetPlatformInfo")
        return cString(bytes)
    }

    static func deviceString(_ cl: dlcl_api, _ d: cl_device_id, _ what: Int32) throws -> String {
        var size = 0
        try CLStatus.check(cl.GetDeviceInfo(d, cl_uint(what), 0, nil, &size), "clGetDeviceInfo")
        var bytes = [UInt8](repeating: 0, count: size + 1)
        try CLStatus.check(cl.GetDeviceInfo(d, cl_uint(what), size, &bytes, nil), "clGetDeviceInfo")
        return cString(bytes)
    }

    static func deviceValue<T: FixedWidthInteger>(_ cl: dlcl_api, _ d: cl_device_id, _ what: Int32) throws -> T {
        var v: T = 0
        try CLStatus.check(cl.GetDeviceInfo(d, cl_uint(what), MemoryLayout<T>.size, &v, nil), "clGetDeviceInfo")
        return v
    }

    static func cString(_ bytes: [UInt8]) -> String {
        String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self).trimmingSpaces
    }
}
