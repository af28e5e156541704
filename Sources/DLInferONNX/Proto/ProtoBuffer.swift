import DLInferCore
#if canImport(Glibc)
import Glibc
#endif

/// The bytes a message is decoded from, owned here. Bytes fields are ranges of it (`ProtoBytes`, no copy).
///
/// A large model is most of its weights: once the importer has copied a weight into its tensor, `release` gives that
/// range's whole pages back to the system, so loading peaks near one copy of the weights rather than two. A released
/// range reads as an error, never as the zeros the system would give back.
final class ProtoBuffer: @unchecked Sendable {
    let bytes: UnsafeRawBufferPointer
    /// Whether the memory is a private anonymous mapping (large buffers), whose pages can be given back.
    private let mapped: Bool
    /// Released ranges, sorted and merged where they touch (weights are released in file order, so mostly appended).
    private var released: [Range<Int>] = []
    /// Buffers from this size on are mapped (and so can give pages back); smaller ones are plain allocations.
    static let mapThreshold = 1 << 20

    /// `count` bytes, filled by `fill`, which returns how many it wrote (nil: failed).
    init?(count: Int, fill: (UnsafeMutableRawBufferPointer) -> Int?) {
        let base: UnsafeMutableRawPointer
        if count >= ProtoBuffer.mapThreshold {
            guard let p = mmap(nil, count, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), p != MAP_FAILED else { return nil }
            base = p
            mapped = true
        } else {
            base = .allocate(byteCount: Swift.max(count, 1), alignment: 16)
            mapped = false
        }
        let whole = UnsafeMutableRawBufferPointer(start: base, count: count)
        guard let n = fill(whole), n <= count else {
            if mapped { munmap(base, count) } else { base.deallocate() }
            return nil
        }
        bytes = UnsafeRawBufferPointer(start: base, count: n)
        capacity = count
    }

    private let capacity: Int

    convenience init(copying source: UnsafeRawBufferPointer) {
        self.init(count: source.count) { dst in
            if source.count > 0 { dst.baseAddress!.copyMemory(from: source.baseAddress!, byteCount: source.count) }
            return source.count
        }!
    }

    convenience init(copying source: [UInt8]) {
        self.init(count: source.count) { dst in
            source.withUnsafeBytes { if $0.count > 0 { dst.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: $0.count) } }
            return source.count
        }!
    }

    deinit {
        let base = UnsafeMutableRawPointer(mutating: bytes.baseAddress!)
        if mapped { munmap(base, capacity) } else { base.deallocate() }
    }

    var count: Int { bytes.count }
    subscript(i: Int) -> UInt8 { bytes[i] }

    /// Gives back the pages wholly inside `range`; reading any of `range` later fails.
    func release(_ range: Range<Int>) {
        guard !range.isEmpty else { return }
        let i = firstEndingAfter(range.lowerBound - 1)
        var merged = range
        while i < released.count, released[i].lowerBound <= merged.upperBound {
            merged = Swift.min(merged.lowerBound, released[i].lowerBound)..<Swift.max(merged.upperBound, released[i].upperBound)
            released.remove(at: i)
        }
        released.insert(merged, at: i)
        guard mapped else { return }
        // The pages wholly inside what is now released around `range` (a page it shares with a range released
        // before goes too).
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let lower = Swift.max(merged.lowerBound, range.lowerBound - page), upper = Swift.min(merged.upperBound, range.upperBound + page)
        let start = (lower + page - 1) / page * page, end = upper / page * page
        if end > start { madvise(UnsafeMutableRawPointer(mutating: bytes.baseAddress! + start), end - start, MADV_DONTNEED) }
    }

    func isReleased(_ range: Range<Int>) -> Bool {
        let i = firstEndingAfter(range.lowerBound)
        return i < released.count && released[i].overlaps(range)
    }

    /// The index of the first released range that ends after `offset` (ranges are sorted and disjoint).
    private func firstEndingAfter(_ offset: Int) -> Int {
        var lo = 0, hi = released.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if released[mid].upperBound > offset { hi = mid } else { lo = mid + 1 }
        }
        return lo
    }
}

/// A bytes field: a range of the buffer it was decoded from.
struct ProtoBytes: RandomAccessCollection {
    let buffer: ProtoBuffer?
    let range: Range<Int>

    static let empty = ProtoBytes(buffer: nil, range: 0..<0)

    var startIndex: Int { 0 }
    var endIndex: Int { range.count }
    subscript(i: Int) -> UInt8 { buffer![range.lowerBound + i] }

    /// Copies the bytes to `destination`; with `releasing`, gives their memory back as it goes (see
    /// `ProtoBuffer.release`), so that copying a large weight never holds two whole copies of it.
    func copy(to destination: UnsafeMutableRawPointer, releasing: Bool) throws {
        guard let buffer else { return }
        guard !buffer.isReleased(range) else {
            throw DLInferError(.internal, "protobuf bytes read again after the importer released them")
        }
        let chunk = releasing ? 8 << 20 : range.count
        var done = 0
        while done < range.count {
            let n = Swift.min(chunk, range.count - done), from = range.lowerBound + done
            (destination + done).copyMemory(from: buffer.bytes.baseAddress! + from, byteCount: n)
            if releasing { buffer.release(from..<from + n) }
            done += n
        }
    }
}
