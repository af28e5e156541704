import CDLInfer
import DLInferCore
#if canImport(Glibc)
import Glibc
#endif

// Every exported function funnels through `guarded`, so no Swift error escapes as a trap and every failure leaves
// its message in this thread's slot for dlinfer_last_error.

/// This thread's last error message (malloc'd; freed when replaced or when the thread exits).
private let lastErrorKey: pthread_key_t = {
    var key = pthread_key_t()
    pthread_key_create(&key) { free($0) }
    return key
}()

func setLastError(_ message: String) {
    free(pthread_getspecific(lastErrorKey))
    pthread_setspecific(lastErrorKey, strdup(message))
}

func lastErrorPointer() -> UnsafePointer<CChar> {
    if let p = pthread_getspecific(lastErrorKey) { return UnsafePointer(p.assumingMemoryBound(to: CChar.self)) }
    return cString("")
}

/// A pointer to a string literal, valid for the life of the process.
func cString(_ s: StaticString) -> UnsafePointer<CChar> {
    UnsafeRawPointer(s.utf8Start).assumingMemoryBound(to: CChar.self)
}

/// Runs `body`, turning a thrown error into its status code and this thread's last error message.
func guarded(_ body: () throws -> Void) -> dlinfer_status {
    do {
        try body()
        return 0
    } catch let e as DLInferError {
        setLastError(e.message)
        return e.kind.rawValue
    } catch {
        setLastError("internal error: \(error)")
        return DLInferError.Kind.internal.rawValue
    }
}

/// Runs `body`, putting the function's name before the message of any error it throws.
func prefixed(_ function: StaticString, _ body: () throws -> Void) throws {
    do {
        try body()
    } catch let e as DLInferError {
        throw DLInferError(e.kind, "\(function): \(e.message)")
    }
}

/// Unwraps a pointer argument or fails with a message naming it.
func required<T>(_ p: T?, _ what: StaticString, in function: StaticString) throws -> T {
    guard let p else { throw DLInferError.invalid("\(function): \(what) is NULL") }
    return p
}

func statusName(_ status: Int32) -> StaticString {
    guard let kind = DLInferError.Kind(rawValue: status) else { return status == 0 ? "DLINFER_OK" : "DLINFER_ERR_UNKNOWN" }
    switch kind {
    case .invalidArgument: return "DLINFER_ERR_INVALID_ARG"
    case .notFound: return "DLINFER_ERR_NOT_FOUND"
    case .io: return "DLINFER_ERR_IO"
    case .modelInvalid: return "DLINFER_ERR_MODEL_INVALID"
    case .unsupported: return "DLINFER_ERR_UNSUPPORTED_OP"
    case .shape: return "DLINFER_ERR_SHAPE"
    case .deviceUnavailable: return "DLINFER_ERR_DEVICE_UNAVAILABLE"
    case .device: return "DLINFER_ERR_DEVICE"
    case .outOfMemory: return "DLINFER_ERR_OUT_OF_MEMORY"
    case .cancelled: return "DLINFER_ERR_CANCELLED"
    case .bufferTooSmall: return "DLINFER_ERR_BUFFER_TOO_SMALL"
    case .internal: return "DLINFER_ERR_INTERNAL"
    }
}
