import CDLInfer
import DLInferCore
import DLInferEngine
#if canImport(Glibc)
import Glibc
#endif

// The opaque C handles are retained Swift boxes (Unmanaged). Strings handed out as `const char*` are copied once into
// malloc'd memory owned by the box that documents their lifetime.

final class OptionsBox {
    var options = SessionOptions()
}

final class ModelBox {
    let model: Model
    let inputNames: [UnsafeMutablePointer<CChar>]
    let outputNames: [UnsafeMutablePointer<CChar>]
    /// Per input and output, per axis: the symbolic dimension's name, "" for a fixed or unnamed one.
    let inputDimNames: [[UnsafeMutablePointer<CChar>]]
    let outputDimNames: [[UnsafeMutablePointer<CChar>]]
    let metadata: [(key: UnsafeMutablePointer<CChar>, value: UnsafeMutablePointer<CChar>)]

    init(_ model: Model) {
        self.model = model
        inputNames = model.inputs.map { strdup($0.name) }
        outputNames = model.outputs.map { strdup($0.name) }
        func dimNames(_ v: ValueInfo) -> [UnsafeMutablePointer<CChar>] {
            (v.type.shape ?? []).map { d in
                if case .symbol(let s) = d, d != .unknown { return strdup(s) }
                return strdup("")
            }
        }
        inputDimNames = model.inputs.map(dimNames)
        outputDimNames = model.outputs.map(dimNames)
        metadata = model.graph.metadata.map { (strdup($0.key), strdup($0.value)) }
    }

    deinit {
        (inputNames + outputNames + (inputDimNames + outputDimNames).flatMap { $0 }).forEach { free($0) }
        metadata.forEach { free($0.key); free($0.value) }
    }
}

final class SessionBox {
    let session: InferenceSession
    /// Keeps the model's names alive as long as the session (the session itself retains the Model).
    let model: ModelBox
    let deviceName: UnsafeMutablePointer<CChar>
    /// Whether `session.lastOutputs` holds the outputs of a successful run.
    private(set) var hasOutputs = false
    /// Per input, the buffer dlinfer_session_input_buffer gave the host, while the input is that buffer.
    var inputBuffers: [Tensor?]
    /// dlinfer_session_output_views' array: one view per output, and each view's dims (grown to the largest rank seen).
    let views: UnsafeMutablePointer<dlinfer_tensor_view>
    private var viewDims: [(dims: UnsafeMutablePointer<Int64>, capacity: Int)]

    init(_ session: InferenceSession, model: ModelBox) {
        self.session = session
        self.model = model
        deviceName = strdup(session.deviceName)
        inputBuffers = Array(repeating: nil, count: session.model.inputs.count)
        let n = session.model.outputs.count
        views = .allocate(capacity: max(n, 1))
        views.initialize(repeating: SessionBox.emptyView, count: max(n, 1))
        viewDims = (0..<n).map { _ in (.allocate(capacity: 8), 8) }
    }

    deinit {
        free(deviceName)
        views.deallocate()
        viewDims.forEach { $0.dims.deallocate() }
    }

    private static let emptyView = dlinfer_tensor_view(data: nil, dims: nil, nbytes: 0, dtype: 0, rank: -1)

    /// Runs on the inputs given so far and describes the outputs in `views`; on failure the views are empty.
    func run() throws {
        hasOutputs = false
        views.update(repeating: SessionBox.emptyView, count: viewDims.count)
        // The host may have written any byte into a bool buffer; Swift's Bool must be exactly 0 or 1.
        for case let t? in inputBuffers where t.dtype == .bool {
            let b = t.raw.assumingMemoryBound(to: UInt8.self)
            for i in 0..<t.byteCount where b[i] > 1 { b[i] = 1 }
        }
        try session.run()
        for (k, t) in session.lastOutputs.enumerated() {
            if viewDims[k].capacity < t.shape.count {
                viewDims[k].dims.deallocate()
                viewDims[k] = (.allocate(capacity: t.shape.count), t.shape.count)
            }
            for (i, d) in t.shape.enumerated() { viewDims[k].dims[i] = Int64(d) }
            views[k] = dlinfer_tensor_view(data: t.byteCount > 0 ? UnsafeRawPointer(t.raw) : nil,
                                           dims: UnsafePointer(viewDims[k].dims), nbytes: UInt64(t.byteCount),
                                           dtype: t.dtype.rawValue, rank: Int32(t.shape.count))
        }
        hasOutputs = true
    }
}

/// Device names, valid until the process exits (the device list is enumerated once).
let deviceNames: [UnsafeMutablePointer<CChar>] = Devices.list().map { strdup($0.name) }

func retainedHandle(_ object: AnyObject) -> OpaquePointer { OpaquePointer(Unmanaged.passRetained(object).toOpaque()) }

func box<T: AnyObject>(_ handle: OpaquePointer, as _: T.Type) -> T {
    Unmanaged<T>.fromOpaque(UnsafeRawPointer(handle)).takeUnretainedValue()
}

func releaseHandle<T: AnyObject>(_ handle: OpaquePointer?, as _: T.Type) {
    guard let handle else { return }
    Unmanaged<T>.fromOpaque(UnsafeRawPointer(handle)).release()
}

/// Validates an (index, is_output) pair against a model and returns the index as Int.
func ioIndex(_ model: Model, isOutput: Int32, _ index: Int32, in function: StaticString) throws -> Int {
    guard isOutput == 0 || isOutput == 1 else { throw DLInferError.invalid("\(function): is_output must be 0 or 1, got \(isOutput)") }
    let count = isOutput == 1 ? model.outputs.count : model.inputs.count
    guard index >= 0, Int(index) < count else {
        throw DLInferError.invalid("\(function): \(isOutput == 1 ? "output" : "input") index \(index) is out of range: the model has \(count)")
    }
    return Int(index)
}

/// Writes a dtype, rank and dimensions (-1 for unknown) the way every shape query in the header describes.
func writeType(_ type: ValueType, _ outDtype: UnsafeMutablePointer<Int32>, _ outRank: UnsafeMutablePointer<Int32>,
               _ dims: UnsafeMutablePointer<Int64>?, _ dimsCap: Int32, in function: StaticString) throws {
    guard dimsCap >= 0 else { throw DLInferError.invalid("\(function): dims_cap is negative (\(dimsCap))") }
    guard dimsCap == 0 || dims != nil else { throw DLInferError.invalid("\(function): dims is NULL but dims_cap is \(dimsCap)") }
    outDtype.pointee = type.dtype.rawValue
    guard let shape = type.shape else { outRank.pointee = -1; return }
    outRank.pointee = Int32(shape.count)
    guard let dims else { return }
    for (i, d) in shape.prefix(Int(dimsCap)).enumerated() { dims[i] = Int64(d.value ?? -1) }
    if Int(dimsCap) < shape.count {
        throw DLInferError(.bufferTooSmall, "\(function): the shape has rank \(shape.count) but dims_cap is \(dimsCap)")
    }
}
