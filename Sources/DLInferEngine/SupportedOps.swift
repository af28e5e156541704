import DLInferONNX
import DLInferOpenCL

/// What `dlinfer ops` prints: every op the importer registers, the opsets it is accepted at, and whether the OpenCL
/// backend has a kernel for it (otherwise its nodes run on the CPU on any device).
public enum SupportedOps {
    public struct Entry: Sendable {
        public var name: String
        public var opsets: ClosedRange<Int>
        public var openCL: Bool
    }

    public static var list: [Entry] {
        ONNXOpRegistry.ops.map {
            Entry(name: $0.name, opsets: max($0.since, 1)...ONNXImporter.supportedOpsets.upperBound,
                  openCL: OpenCLBackend.kernelOps.contains($0.name))
        }
    }
}
