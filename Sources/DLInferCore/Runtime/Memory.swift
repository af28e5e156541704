import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The bytes a tensor of `shape` takes, or `outOfMemory` when a dim is negative or the product overflows.
public func byteCount(_ dtype: DType, _ shape: [Int]) throws -> Int {
    var bytes = dtype.byteSize
    for d in shape {
        let (m, o) = bytes.multipliedReportingOverflow(by: d)
        guard !o, d >= 0 else { throw DLInferError(.outOfMemory, "a \(dtype) tensor of shape \(shape) is too large to address") }
        bytes = m
    }
    return bytes
}

/// The host memory a session may hold at once: every buffer it allocated (live values, pooled free buffers, outputs
/// still held by the caller) counts until freed. Allocations past the limit fail with `outOfMemory` instead of
/// taking the process down, whatever the model or input asks for.
public final class MemoryBudget: @unchecked Sendable {
    public let limit: Int
    private let used = Atomic<Int>(0)
    public init(limit: Int) { self.limit = limit }

    public var inUse: Int { used.load(ordering: .relaxed) }

    /// Counts `bytes` against the limit, or throws without counting them.
    public func reserve(_ bytes: Int) throws {
        let after = used.wrappingAdd(bytes, ordering: .relaxed).newValue
        if after > limit || after < bytes {
            let before = used.wrappingSubtract(bytes, ordering: .relaxed).newValue
            throw DLInferError(.outOfMemory, "\(bytes) bytes more would exceed the memory limit of \(limit) bytes (max_memory; \(before) in use)")
        }
    }

    public func release(_ bytes: Int) { used.wrappingSubtract(bytes, ordering: .relaxed) }

    /// What a session may use by default: three quarters of the memory this process can have (physical memory, or
    /// the address-space or data limit set with ulimit, whichever is smallest).
    public static let defaultLimit: Int = {
        var limit = physicalMemory
        for resource in [RLIMIT_AS, RLIMIT_DATA] {
            var r = rlimit()
            if getrlimit(__rlimit_resource_t(resource.rawValue), &r) == 0, r.rlim_cur != rlim_t.max {
                limit = Swift.min(limit, Int(clamping: r.rlim_cur))
            }
        }
        return limit / 4 * 3
    }()

    public static let physicalMemory: Int = {
        let pages = sysconf(Int32(_SC_PHYS_PAGES)), size = sysconf(Int32(_SC_PAGESIZE))
        return pages > 0 && size > 0 ? pages * size : Int.max
    }()
}

/// A buffer a pool can hold: host storage or device memory.
public protocol PooledBuffer: AnyObject {
    var byteCount: Int { get }
}

/// Free buffers kept for reuse between nodes and runs, so that steady-state runs allocate nothing. A request takes
/// the smallest free buffer that holds it but is at most twice its size (varying input shapes then reuse rather than
/// accumulate buffers), of those the one freed last (likeliest still in cache, and steady runs then settle on the same
/// few buffers); the free bytes kept never exceed `budget`, oldest dropped first.
public final class BufferPool<Buffer: PooledBuffer> {
    private var free: [Buffer] = []
    public private(set) var freeBytes = 0
    public var budget: Int { didSet { trim() } }

    public init(budget: Int) { self.budget = budget }

    public func take(_ bytes: Int) -> Buffer? {
        var best: Int? = nil
        // By index: enumerating would copy (and count a reference to) every free buffer looked at.
        for i in free.indices {
            let size = free[i].byteCount
            if size >= bytes, size <= Swift.max(2 * bytes, 4096), best == nil || size <= free[best!].byteCount { best = i }
        }
        guard let i = best else { return nil }
        freeBytes -= free[i].byteCount
        return free.remove(at: i)
    }

    public func give(_ b: Buffer) {
        free.append(b)
        freeBytes += b.byteCount
        trim()
    }

    /// Drops every free buffer (their memory goes back to the system).
    public func purge() { free.removeAll(); freeBytes = 0 }

    private func trim() {
        var drop = 0
        while freeBytes > budget, drop < free.count { freeBytes -= free[drop].byteCount; drop += 1 }
        if drop > 0 { free.removeFirst(drop) }
    }
}

/// A session's host buffers: allocated against its memory budget, recycled through a pool sized to the current
/// plan's peak.
public final class TensorPool: @unchecked Sendable {
    public let memory: MemoryBudget
    let buffers: BufferPool<Storage>

    public init(memory: MemoryBudget, budget: Int = 64 << 20) {
        self.memory = memory
        buffers = BufferPool(budget: budget)
    }

    /// Storage of at least `bytes`: a free buffer, else a new one; when the memory limit is reached the free buffers
    /// are released before giving up.
    public func take(_ bytes: Int) throws -> Storage {
        if let s = buffers.take(bytes) { return s }
        missedBytes += bytes
        do { return try Storage(byteCount: bytes, budget: memory) } catch let e as DLInferError where e.kind == .outOfMemory {
            guard buffers.freeBytes > 0 else { throw e }
            buffers.purge()
            return try Storage(byteCount: bytes, budget: memory)
        }
    }

    public func give(_ s: Storage) { buffers.give(s) }
    public var freeBytes: Int { buffers.freeBytes }
    /// Bytes of the requests no free buffer could serve, since the session last reset it.
    public var missedBytes = 0

    /// Keeps at most this many free bytes (the session sets it from its plan's peak).
    public var budget: Int {
        get { buffers.budget }
        set { buffers.budget = newValue }
    }
}
