import DLInferCore

/// The kernels index with 32-bit ints: larger tensors are refused with a clear error instead of wrapping.
func requireInt32Indexing(_ shapes: [Int]...) throws {
    for s in shapes where s.elementCount > Int(Int32.max) {
        throw DLInferError(.unsupported, "a tensor of \(s.elementCount) elements \(s) exceeds the 32-bit range OpenCL kernels index with")
    }
}

/// Refuses shapes of more dims than the kernels' int8 arguments hold (ranks are checked at placement when known).
func requireAtMost8Dims(_ shape: [Int], op: String) throws {
    guard shape.count <= 8 else {
        throw DLInferError(.unsupported, "\(op): shape \(shape) has more than the 8 dims OpenCL kernels index")
    }
}
