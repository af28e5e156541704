import DLInferCore
import Synchronization

/// Temporary float buffers (im2col columns) shared by every kernel of every session. A buffer is lent for the
/// duration of one call, so memory grows with the number of concurrent runs, not with the number of conv nodes.
enum Scratch {
    private static let free = Mutex<[Storage]>([])

    /// Runs `body` with at least `count` floats of uninitialised memory (`outOfMemory` if they cannot be had).
    static func withFloats<R>(_ count: Int, _ body: (UnsafeMutablePointer<Float>) throws -> R) throws -> R {
        let bytes = Swift.max(count, 1) * MemoryLayout<Float>.stride
        let reused: Storage? = free.withLock { list in
            if let i = list.firstIndex(where: { $0.byteCount >= bytes }) { return list.remove(at: i) }
            // None fits: drop the largest, which a bigger buffer replaces, so the list never grows past the number
            // of concurrent callers.
            if let i = list.indices.max(by: { list[$0].byteCount < list[$1].byteCount }) { list.remove(at: i) }
            return nil
        }
        let s = try reused ?? Storage(byteCount: bytes)
        defer { free.withLock { $0.append(s) } }
        return try body(s.base.assumingMemoryBound(to: Float.self))
    }
}
