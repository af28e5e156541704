import DLInferCore
#if canImport(Glibc)
import Glibc
#endif

/// Compiled program binaries on disk, so that only the first session on a device pays for compiling kernels.
/// Keyed by device, driver version, kernel source and build options; every entry also stores its full key and a
/// checksum, so a stale, truncated or corrupt file is simply rebuilt. Any I/O failure only disables the cache.
struct ProgramCache {
    let key: String
    let path: String?

    init(device: CLDeviceDescription, source: String, options: String) {
        let key = [device.platformName, device.name, device.version, device.driverVersion, options,
               String(ProgramCache.fnv1a(Array(source.utf8)), radix: 16), String(source.utf8.count)].joined(separator: "\n")
        self.key = key
        path = ProgramCache.directory().map { "\($0)/\(String(ProgramCache.fnv1a(Array(key.utf8)), radix: 16)).clbin" }
    }

    /// `DLINFER_CACHE_DIR`, else `$XDG_CACHE_HOME/dlinfer`, else `~/.cache/dlinfer`; nil when none can be named.
    static func directory() -> String? {
        if let d = env("DLINFER_CACHE_DIR") { return d }
        if let x = env("XDG_CACHE_HOME") { return x + "/dlinfer" }
        if let h = env("HOME") { return h + "/.cache/dlinfer" }
        return nil
    }

    private static func env(_ name: String) -> String? {
        guard let v = getenv(name) else { return nil }
        let s = String(cString: v)
        return s.isEmpty ? nil : s
    }

    private static let magic = Array("dlinfer-clbin-1\n".utf8)

    func load() -> [UInt8]? {
        guard let path, let f = fopen(path, "rb") else { return nil }
        defer { fclose(f) }
        var data = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = fread(&chunk, 1, chunk.count, f)
            if n > 0 { data.append(contentsOf: chunk[0..<n]) }
            if n < chunk.count { break }
        }
        let keyBytes = Array(key.utf8)
        let head = ProgramCache.magic.count, keyEnd = head + 8 + keyBytes.count
        guard data.count >= keyEnd + 16, Array(data[0..<head]) == ProgramCache.magic,
              ProgramCache.u64(data, head) == UInt64(keyBytes.count), Array(data[(head + 8)..<keyEnd]) == keyBytes else { return nil }
        let size = ProgramCache.u64(data, keyEnd), sum = ProgramCache.u64(data, keyEnd + 8)
        guard UInt64(data.count - keyEnd - 16) == size else { return nil }
        let binary = Array(data[(keyEnd + 16)...])
        return ProgramCache.fnv1a(binary) == sum ? binary : nil
    }

    func store(_ binary: [UInt8]) {
        guard let path, let dir = ProgramCache.directory(), ProgramCache.makeDirectories(dir) else { return }
        let keyBytes = Array(key.utf8)
        var data = ProgramCache.magic
        ProgramCache.append(&data, UInt64(keyBytes.count)); data += keyBytes
        ProgramCache.append(&data, UInt64(binary.count)); ProgramCache.append(&data, ProgramCache.fnv1a(binary))
        data += binary
        // Written under a private name and renamed: a concurrent reader never sees half a file.
        let tmp = "\(path).\(getpid()).\(UInt64.random(in: 0...UInt64.max)).tmp"
        guard let f = fopen(tmp, "wb") else { return }
        let ok = fwrite(data, 1, data.count, f) == data.count
        if fclose(f) == 0 && ok { if rename(tmp, path) != 0 { unlink(tmp) } } else { unlink(tmp) }
    }

    private static func makeDirectories(_ dir: String) -> Bool {
        var prefix = dir.hasPrefix("/") ? "" : "."
        for part in dir.split(separator: "/") {
            prefix += "/" + part
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST { return false }
        }
        return access(dir, W_OK) == 0
    }

    static func fnv1a(_ bytes: [UInt8]) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h
    }

    private static func append(_ data: inout [UInt8], _ v: UInt64) {
        for i in 0..<8 { data.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) }
    }

    private static func u64(_ data: [UInt8], _ at: Int) -> UInt64 {
        (0..<8).reduce(UInt64(0)) { $0 | UInt64(data[at + $1]) << (8 * UInt64($1)) }
    }
}
