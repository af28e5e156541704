import COpenCL
import DLInferCore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One OpenCL context per device, shared by every session on it (contexts and programs are thread-safe; kernels and
/// queues are not, so those belong to each session's `CLQueue`). Programs are built once per process and cached on
/// disk across processes.
final class CLDeviceContext: @unchecked Sendable {
    let device: CLDeviceDescription
    let cl: dlcl_api
    let context: cl_context
    private let programs = Mutex<[String: CLProgram]>([:])

    private static let shared = Mutex<[Int: CLDeviceContext]>([:])

    static func forDevice(_ d: CLDeviceDescription) throws -> CLDeviceContext {
        try shared.withLock { contexts in
            if let c = contexts[d.index] { return c }
            let c = try CLDeviceContext(d)
            contexts[d.index] = c
            return c
        }
    }

    private init(_ d: CLDeviceDescription) throws {
        device = d
        cl = try OpenCL.api()
        var rc: cl_int = 0
        var props: [cl_context_properties] = [0x1084 /* CL_CONTEXT_PLATFORM */, cl_context_properties(Int(bitPattern: UnsafeRawPointer(d.platform))), 0]
        var id: cl_device_id? = d.id
        guard let ctx = cl.CreateContext(&props, 1, &id, nil, nil, &rc), rc == 0 else {
            throw CLStatus.error(rc, "clCreateContext on \(d.name)")
        }
        context = ctx
    }

    /// The program built from `kernels/<file>.cl` (after `common.cl`) with `defines`, built on first use. Every
    /// program also gets the kernel codes' defines (`KernelCodes.defines`), which the binary cache's key includes
    /// with the other options.
    func program(_ file: String, defines: String = "") throws -> CLProgram {
        let key = file + "|" + defines
        if let p = programs.withLock({ $0[key] }) { return p }
        guard let body = EmbeddedKernels.sources[file], let common = EmbeddedKernels.sources["common"] else {
            throw DLInferError(.internal, "no embedded OpenCL source kernels/\(file).cl")
        }
        let options = "-cl-std=CL1.2 " + KernelCodes.defines + " " + defines
        let p = try CLProgram(self, name: "\(file).cl", source: common + "\n" + body, options: options)
        programs.withLock { $0[key] = p }
        return p
    }

    deinit { _ = cl.ReleaseContext(context) }
}

/// A built program; kernels are created from it per session.
final class CLProgram: @unchecked Sendable {
    let program: cl_program
    let name: String
    private let cl: dlcl_api

    init(_ ctx: CLDeviceContext, name: String, source: String, options: String) throws {
        cl = ctx.cl
        self.name = name
        let cache = ProgramCache(device: ctx.device, source: source, options: options)
        var id: cl_device_id? = ctx.device.id
        if let binary = cache.load(), let p = CLProgram.fromBinary(ctx, binary, options, &id) {
            program = p
            return
        }
        var rc: cl_int = 0
        let created: cl_program? = source.withCString { src in
            var ptr: UnsafePointer<CChar>? = src
            var len = strlen(src)
            return ctx.cl.CreateProgramWithSource(ctx.context, 1, &ptr, &len, &rc)
        }
        guard let created, rc == 0 else { throw CLStatus.error(rc, "clCreateProgramWithSource(\(name))") }
        let built = options.withCString { ctx.cl.BuildProgram(created, 1, &id, $0, nil, nil) }
        if built != 0 {
            let log = CLProgram.buildLog(ctx, created, ctx.device.id)
            _ = ctx.cl.ReleaseProgram(created)
            throw DLInferError(.device, "building kernels/\(name) for \(ctx.device.name) failed: \(CLStatus.name(built))\n\(log)")
        }
        program = created
        if let binary = CLProgram.binary(ctx.cl, created) { cache.store(binary) }
    }

    /// A program from a cached binary; nil when the driver refuses it (stale or corrupt), so it is rebuilt.
    private static func fromBinary(_ ctx: CLDeviceContext, _ binary: [UInt8], _ options: String, _ id: inout cl_device_id?) -> cl_program? {
        var rc: cl_int = 0, status: cl_int = 0
        let p: cl_program? = binary.withUnsafeBufferPointer { b in
            var ptr: UnsafePointer<UInt8>? = b.baseAddress
            var len = b.count
            return ctx.cl.CreateProgramWithBinary(ctx.context, 1, &id, &len, &ptr, &status, &rc)
        }
        guard let p, rc == 0, status == 0 else { return nil }
        guard options.withCString({ ctx.cl.BuildProgram(p, 1, &id, $0, nil, nil) }) == 0 else {
            _ = ctx.cl.ReleaseProgram(p)
            return nil
        }
        return p
    }

    private static func binary(_ cl: dlcl_api, _ p: cl_program) -> [UInt8]? {
        var size = 0
        guard cl.GetProgramInfo(p, cl_uint(CL_PROGRAM_BINARY_SIZES), MemoryLayout<Int>.size, &size, nil) == 0, size > 0 else { return nil }
        var bytes = [UInt8](repeating: 0, count: size)
        let rc = bytes.withUnsafeMutableBufferPointer { b -> cl_int in
            var ptr: UnsafeMutablePointer<UInt8>? = b.baseAddress
            return cl.GetProgramInfo(p, cl_uint(CL_PROGRAM_BINARIES), MemoryLayout<UnsafeMutablePointer<UInt8>?>.size, &ptr, nil)
        }
        return rc == 0 ? bytes : nil
    }

    private static func buildLog(_ ctx: CLDeviceContext, _ p: cl_program, _ d: cl_device_id) -> String {
        var size = 0
        guard ctx.cl.GetProgramBuildInfo(p, d, cl_uint(CL_PROGRAM_BUILD_LOG), 0, nil, &size) == 0, size > 0 else { return "" }
        var bytes = [UInt8](repeating: 0, count: size + 1)
        _ = ctx.cl.GetProgramBuildInfo(p, d, cl_uint(CL_PROGRAM_BUILD_LOG), size, &bytes, nil)
        return String(OpenCL.cString(bytes).prefix(4000))
    }

    deinit { _ = cl.ReleaseProgram(program) }
}
