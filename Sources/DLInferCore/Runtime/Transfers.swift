extension Session {
    /// Tensors one run moved between the host and the device: inputs and host-computed values a device node read,
    /// device values a CPU node read, outputs read back. Weights and folded shape values (uploaded once per session
    /// or plan) and kernels' own small parameter writes are not counted.
    /// Bytes are as stored on the device (float32 stored as half moves half the bytes). `sizeReads`: the small reads
    /// device kernels made to learn the size of a data-dependent output (NonZero, NonMaxSuppression).
    public struct Transfers: Sendable, Equatable {
        public var uploads = 0, downloads = 0
        public var uploadBytes = 0, downloadBytes = 0
        public var sizeReads = 0
        /// Each upload and download step of the run's plan, in run order: the value's name, direction, shape, bytes,
        /// and the node it was moved for (nil: a graph output read back).
        public var moves: [Move] = []
        public struct Move: Sendable, Equatable {
            public var value: String, toDevice: Bool, shape: [Int], bytes: Int, reader: String?
            public init(value: String, toDevice: Bool, shape: [Int], bytes: Int, reader: String? = nil) {
                self.value = value; self.toDevice = toDevice; self.shape = shape; self.bytes = bytes; self.reader = reader
            }
        }
        public init() {}

        /// Counts one transfer and lists it.
        public mutating func record(_ move: Move) {
            if move.toDevice { uploads += 1; uploadBytes += move.bytes } else { downloads += 1; downloadBytes += move.bytes }
            moves.append(move)
        }

        /// Adds the counts `total` (a running count) gained since it was `before` (not itemized in `moves`).
        public mutating func add(_ total: Transfers, since before: Transfers = Transfers()) {
            uploads += total.uploads - before.uploads
            downloads += total.downloads - before.downloads
            uploadBytes += total.uploadBytes - before.uploadBytes
            downloadBytes += total.downloadBytes - before.downloadBytes
            sizeReads += total.sizeReads - before.sizeReads
        }
    }
}
