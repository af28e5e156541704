/// Every failure the library reports. `kind` maps one-to-one onto the frozen C status codes.
public struct DLInferError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Int32, Sendable {
        case invalidArgument = 1, notFound = 2, io = 3, modelInvalid = 4, unsupported = 5, shape = 6
        case deviceUnavailable = 7, device = 8, outOfMemory = 9, cancelled = 10, bufferTooSmall = 11
        case `internal` = 99
    }
    public let kind: Kind
    public let message: String
    public init(_ kind: Kind, _ message: String) { self.kind = kind; self.message = message }
    public var description: String { message }

    public static func invalid(_ m: String) -> DLInferError { .init(.invalidArgument, m) }
    public static func model(_ m: String) -> DLInferError { .init(.modelInvalid, m) }
    public static func unsupported(_ m: String) -> DLInferError { .init(.unsupported, m) }
    public static func shape(_ m: String) -> DLInferError { .init(.shape, m) }
}
