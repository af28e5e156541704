import COpenCL
import DLInferCore

/// Device memory owned by one session's queue; released when the last tensor using it goes.
final class CLBuffer: DeviceBuffer {
    let mem: cl_mem
    private let cl: dlcl_api
    init(mem: cl_mem, byteCount: Int, cl: dlcl_api) {
        self.mem = mem; self.cl = cl
        super.init(byteCount: byteCount)
    }
    deinit { _ = cl.ReleaseMemObject(mem) }
}

/// A kernel argument.
enum CLArg {
    case buffer(DeviceTensor)
    case int(Int)
    case float(Float)
    /// An OpenCL `int2` vector (2 values).
    case int2([Int])
    /// An OpenCL `int4` vector (4 values).
    case int4([Int])
    /// An OpenCL `int8` vector (dims or strides, right-aligned by the caller; 8 values).
    case int8([Int])
    /// Local memory of this many bytes.
    case local(Int)
}

/// A kernel object (per session: argument state is not thread-safe).
final class CLKernel {
    let kernel: cl_kernel
    let name: String
    /// The largest work-group this kernel can be launched with on this device (register and local-memory use).
    let maxWorkGroupSize: Int
    private let cl: dlcl_api

    init(_ program: CLProgram, _ name: String, _ ctx: CLDeviceContext) throws {
        cl = ctx.cl
        self.name = name
        var rc: cl_int = 0
        guard let k = name.withCString({ ctx.cl.CreateKernel(program.program, $0, &rc) }), rc == 0 else {
            throw CLStatus.error(rc, "clCreateKernel(\(name)) from kernels/\(program.name)")
        }
        kernel = k
        var wg = 0
        if ctx.cl.GetKernelWorkGroupInfo(k, ctx.device.id, cl_uint(CL_KERNEL_WORK_GROUP_SIZE), MemoryLayout<Int>.size, &wg, nil) != 0 {
            wg = ctx.device.maxWorkGroupSize
        }
        maxWorkGroupSize = max(1, wg)
    }
    deinit { _ = cl.ReleaseKernel(kernel) }
}

/// One session's in-order command queue, its kernels and its buffer pool. Kernels are enqueued back to back; the
/// host waits only when it reads a result.
final class CLQueue {
    let ctx: CLDeviceContext
    let queue: cl_command_queue
    var cl: dlcl_api { ctx.cl }
    private var kernels: [String: CLKernel] = [:]
    /// Free buffers kept for reuse: with input shapes that keep changing (text lines of every width) the pool would
    /// otherwise hold every size ever used; it keeps an eighth of the device's memory at most, at least 64 MiB.
    private let pool: BufferPool<CLBuffer>
    var freeBytes: Int { pool.freeBytes }
    /// float32 tensors are stored as half (precision=fp16): every kernel is built with -DDL_HALF (kernels/common.cl).
    let halfStorage: Bool

    init(_ ctx: CLDeviceContext, poolBudget: Int? = nil, halfStorage: Bool = false) throws {
        self.ctx = ctx
        self.halfStorage = halfStorage
        var rc: cl_int = 0
        guard let q = ctx.cl.CreateCommandQueue(ctx.context, ctx.device.id, 0, &rc), rc == 0 else {
            throw CLStatus.error(rc, "clCreateCommandQueue on \(ctx.device.name)")
        }
        queue = q
        pool = BufferPool(budget: poolBudget ?? max(64 << 20, Int(clamping: ctx.device.globalMemory / 8)))
    }

    deinit {
        _ = cl.Finish(queue)
        pool.purge()
        _ = cl.ReleaseCommandQueue(queue)
    }

    /// Kernel `name` from `kernels/<file>.cl` built with `defines`, created once per session.
    func kernel(_ file: String, _ name: String, defines: String = "") throws -> CLKernel {
        let key = file + "|" + defines + "|" + name
        if let k = kernels[key] { return k }
        let k = try CLKernel(try ctx.program(file, defines: halfStorage ? defines + " -DDL_HALF" : defines), name, ctx)
        kernels[key] = k
        return k
    }

    /// How this queue stores a tensor of `dtype`.
    func storage(_ dtype: DType) -> DType { halfStorage && dtype == .float32 ? .float16 : dtype }

    /// A buffer for `shape`, reused from the pool when a free one fits. Contents undefined.
    func allocate(_ dtype: DType, _ shape: [Int]) throws -> DeviceTensor {
        try allocate(dtype, shape, stored: storage(dtype))
    }

    /// A float32 buffer stored as float whatever the precision, for intermediate results that kernels declare
    /// `float` (partial sums, attention scores), so that half storage never rounds an accumulation.
    func scratch(_ shape: [Int]) throws -> DeviceTensor { try allocate(.float32, shape, stored: .float32) }

    private func allocate(_ dtype: DType, _ shape: [Int], stored: DType) throws -> DeviceTensor {
        let bytes = try byteCount(stored, shape)
        // Buffers the pool drops go back to the driver; queued work still using one keeps it alive until done.
        if let b = pool.take(bytes) { return DeviceTensor(dtype: dtype, shape: shape, buffer: b, stored: stored) }
        if UInt64(bytes) > ctx.device.maxAllocation {
            throw DLInferError(.outOfMemory, "\(bytes) bytes for a \(dtype) tensor \(shape) exceed the largest buffer \(ctx.device.name) allows (\(ctx.device.maxAllocation) bytes)")
        }
        var rc: cl_int = 0
        // Zero-size tensors still get a real (tiny) buffer so that every kernel argument is valid.
        guard let mem = cl.CreateBuffer(ctx.context, cl_mem_flags(CL_MEM_READ_WRITE), max(bytes, 16), nil, &rc), rc == 0 else {
            throw CLStatus.error(rc, "clCreateBuffer(\(bytes) bytes)")
        }
        return DeviceTensor(dtype: dtype, shape: shape, buffer: CLBuffer(mem: mem, byteCount: bytes, cl: cl), stored: stored)
    }

    func recycle(_ buffer: DeviceBuffer) {
        guard let b = buffer as? CLBuffer else { return }
        pool.give(b)
    }

    /// Copies `t` to the device in this queue's storage (float32 as half under half storage).
    func upload(_ t: Tensor) throws -> DeviceTensor { try upload(t, stored: storage(t.dtype)) }

    /// Copies `t` to the device as it is: tables kernels read as `float` (resize weights, recurrent activations).
    func uploadExact(_ t: Tensor) throws -> DeviceTensor { try upload(t, stored: t.dtype) }

    private func upload(_ t: Tensor, stored: DType) throws -> DeviceTensor {
        let d = try allocate(t.dtype, t.shape, stored: stored)
        guard t.count > 0 else { return d }
        let host = stored == t.dtype ? t : try Self.toHalf(t)
        // Blocking: the host memory may belong to the caller and be reused as soon as run() returns.
        try CLStatus.check(cl.EnqueueWriteBuffer(queue, mem(d), 1, 0, host.byteCount, host.raw, 0, nil, nil), "uploading a \(t.type) input (clEnqueueWriteBuffer)")
        return d
    }

    /// Reads `d` back once everything queued before it has run; fails if a kernel queued before it set a fault.
    func download(_ d: DeviceTensor) throws -> Tensor {
        let t = try Tensor(dtype: d.stored, shape: d.shape)
        if t.byteCount > 0 {
            try CLStatus.check(cl.EnqueueReadBuffer(queue, mem(d), 1, 0, t.byteCount, t.raw, 0, nil, nil), "reading a \(t.type) result (clEnqueueReadBuffer; reports errors of earlier kernels too)")
        }
        try checkFaults()
        return d.stored == d.dtype ? t : try Self.toFloat(t)
    }

    /// Reads back a small result a launcher needs on the host to size an output (NonZero's count, the boxes NMS
    /// kept): the one wait a data-dependent shape costs. Counted in `innerTransfers`.
    func readSizes(_ d: DeviceTensor) throws -> [Int] {
        innerTransfers.sizeReads += 1
        let t = try download(d)
        switch t.dtype {
        case .int32: return t.array(Int32.self).map(Int.init)
        case .int64: return t.array(Int64.self).map(Int.init)
        default: throw DLInferError(.internal, "sizes read back as \(t.dtype)")
        }
    }
    /// What kernels moved themselves so far: `readSizes`, and the transfers of bodies run on the device.
    var innerTransfers = Session.Transfers()

    /// What kernels found wrong in the data they were given, one bit each in the fault word (FAULT_* in the
    /// kernels). A kernel cannot throw: it sets its bit with atomic_or and carries on without writing out of bounds;
    /// the run then fails at its next read-back, which waits for the queue anyway, so checking costs no wait of its own.
    enum Fault: Int32, KernelCode {
        static let prefix = "FAULT"
        case divisionByZero = 1, gatherIndex = 2, unpoolIndex = 4, roi = 8
        var message: String {
            switch self {
            case .divisionByZero: return "integer division by zero (Div on the device)"
            case .gatherIndex: return "a Gather or GatherND index is out of range of the data's dims"
            case .unpoolIndex: return "an index of MaxUnpool's I is out of range of the unpooled shape"
            case .roi: return "a RoiAlign batch index is outside the batch, or a ROI asks for too many samples"
            }
        }
    }
    private var faultWord: DeviceTensor?
    /// Whether a kernel that may set a fault was queued since the word was last read.
    private var faultsPending = false

    /// The fault word, for a kernel about to be queued that may set a fault.
    func faults() throws -> DeviceTensor {
        if faultWord == nil {
            let w = try allocate(.int32, [1], stored: .int32)
            try clear(w)
            faultWord = w
        }
        faultsPending = true
        return faultWord!
    }

    /// Throws what the kernels queued since the last check reported, and clears the word for the next run.
    private func checkFaults() throws {
        guard faultsPending, let w = faultWord else { return }
        faultsPending = false
        var word: Int32 = 0
        try CLStatus.check(cl.EnqueueReadBuffer(queue, mem(w), 1, 0, 4, &word, 0, nil, nil), "reading the fault word")
        guard word != 0 else { return }
        try clear(w)
        let found = Fault.allCases.filter { word & $0.rawValue != 0 }.map(\.message)
        throw DLInferError.invalid(found.isEmpty ? "a device kernel reported fault \(word)" : found.joined(separator: "; "))
    }

    private func clear(_ faultWord: DeviceTensor) throws {
        var zero: Int32 = 0
        try CLStatus.check(cl.EnqueueWriteBuffer(queue, mem(faultWord), 1, 0, 4, &zero, 0, nil, nil), "clearing the fault word")
    }

    /// float32 values as half, rounded to nearest even, finite values saturated to half's range as the kernels'
    /// stores do (kernels/common.cl).
    private static func toHalf(_ t: Tensor) throws -> Tensor {
        let h = try Tensor(dtype: .float16, shape: t.shape)
        let src = t.buffer(Float.self), dst = h.buffer(Half.self)
        for i in 0..<src.count {
            let v = src[i]
            dst[i] = Half(v.isFinite ? Swift.min(Swift.max(v, -65504), 65504) : v)
        }
        return h
    }

    private static func toFloat(_ h: Tensor) throws -> Tensor {
        let t = try Tensor(dtype: .float32, shape: h.shape)
        let src = h.buffer(Half.self), dst = t.buffer(Float.self)
        for i in 0..<src.count { dst[i] = src[i].float }
        return t
    }

    func copy(_ src: DeviceTensor, to dst: DeviceTensor, srcOffset: Int = 0, dstOffset: Int = 0, bytes: Int) throws {
        guard bytes > 0 else { return }
        try CLStatus.check(cl.EnqueueCopyBuffer(queue, mem(src), mem(dst), srcOffset, dstOffset, bytes, 0, nil, nil), "clEnqueueCopyBuffer")
    }

    /// Waits for everything queued; fails if a kernel set a fault.
    func finish() throws {
        try CLStatus.check(cl.Finish(queue), "clFinish")
        try checkFaults()
    }

    /// Enqueues `k` over `global` work-items (rounded up to whole work-groups when `local` is given; kernels check
    /// their bounds). Nothing waits.
    func launch(_ k: CLKernel, global: [Int], local: [Int]? = nil, _ args: [CLArg]) throws {
        for (i, a) in args.enumerated() {
            let rc: cl_int
            switch a {
            case .buffer(let t):
                var m: cl_mem? = mem(t)
                rc = cl.SetKernelArg(k.kernel, cl_uint(i), MemoryLayout<cl_mem>.size, &m)
            case .int(let v):
                guard let v32 = Int32(exactly: v) else {
                    throw DLInferError(.unsupported, "\(k.name): size \(v) exceeds the 32-bit range OpenCL kernels index with")
                }
                var x = v32
                rc = cl.SetKernelArg(k.kernel, cl_uint(i), 4, &x)
            case .float(let v):
                var x = v
                rc = cl.SetKernelArg(k.kernel, cl_uint(i), 4, &x)
            case .int2(let v): rc = try setVector(k, i, v, lanes: 2)
            case .int4(let v): rc = try setVector(k, i, v, lanes: 4)
            case .int8(let v): rc = try setVector(k, i, v, lanes: 8)
            case .local(let bytes):
                rc = cl.SetKernelArg(k.kernel, cl_uint(i), bytes, nil)
            }
            try CLStatus.check(rc, "clSetKernelArg(\(k.name), \(i))")
        }
        if global.contains(0) { return }
        var g = global
        if let local { for i in g.indices { g[i] = (g[i] + local[i] - 1) / local[i] * local[i] } }
        let rc: cl_int = g.withUnsafeBufferPointer { gp in
            if let local {
                return local.withUnsafeBufferPointer { lp in
                    cl.EnqueueNDRangeKernel(queue, k.kernel, cl_uint(g.count), nil, gp.baseAddress, lp.baseAddress, 0, nil, nil)
                }
            }
            return cl.EnqueueNDRangeKernel(queue, k.kernel, cl_uint(g.count), nil, gp.baseAddress, nil, 0, nil, nil)
        }
        try CLStatus.check(rc, "launching kernel \(k.name) (global \(g), local \(local.map { "\($0)" } ?? "auto"))")
    }

    /// Argument `i` of `k` as an OpenCL `int<lanes>` vector.
    private func setVector(_ k: CLKernel, _ i: Int, _ v: [Int], lanes: Int) throws -> cl_int {
        guard v.count == lanes, let x = try? v.map({ guard let e = Int32(exactly: $0) else { throw DLInferError.invalid("") }; return e }) else {
            throw DLInferError(.unsupported, "\(k.name): dims \(v) exceed what an int\(lanes) argument holds (\(lanes) dims, 32-bit sizes)")
        }
        return x.withUnsafeBytes { cl.SetKernelArg(k.kernel, cl_uint(i), 4 * lanes, $0.baseAddress) }
    }

    /// One work-item per element over `n`, in work-groups of up to 256.
    func launch1D(_ k: CLKernel, _ n: Int, _ args: [CLArg]) throws {
        try launch(k, global: [n], local: [min(256, k.maxWorkGroupSize)], args)
    }

    private func mem(_ t: DeviceTensor) -> cl_mem { (t.buffer as! CLBuffer).mem }
}
