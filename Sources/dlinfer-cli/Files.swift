import DLInferCore
#if canImport(Glibc)
import Glibc
#endif

/// File access with the system's reason in every error ("No such file or directory", "Permission denied"), which
/// Foundation's file APIs hide behind their own error types.
enum Files {
    static func read(_ path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw failure("cannot read", path) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw failure("cannot read", path) }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw DLInferError(.io, "cannot read '\(path)': not a regular file") }
        var out = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; throw failure("cannot read", path) }
            if n == 0 { return out }
            out.append(contentsOf: chunk[0..<n])
        }
    }

    static func write(_ bytes: [UInt8], to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw failure("cannot write", path) }
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 { if errno == EINTR { continue }; let e = failure("cannot write", path); close(fd); throw e }
            done += n
        }
        guard close(fd) == 0 else { throw failure("cannot write", path) }
    }

    /// Creates `path` and its missing parents (like `mkdir -p`).
    static func makeDirectories(_ path: String) throws {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for part in path.split(separator: "/") {
            prefix += part
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST { throw failure("cannot create the folder", prefix) }
            prefix += "/"
        }
        var st = stat()
        guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else {
            throw DLInferError(.io, "cannot create the folder '\(path)': a file of that name exists")
        }
    }

    /// `folder/file` with one slash however the folder was written.
    static func join(_ folder: String, _ file: String) -> String {
        var f = folder
        while f.count > 1 && f.hasSuffix("/") { f.removeLast() }
        return f == "/" ? "/" + file : f + "/" + file
    }

    private static func failure(_ what: String, _ path: String) -> DLInferError {
        let reason = String(cString: strerror(errno))
        return DLInferError(errno == ENOENT ? .notFound : .io, "\(what) '\(path)': \(reason)")
    }
}
