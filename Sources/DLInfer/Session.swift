import CDLInfer
import DLInferCore
import DLInferEngine

@c @implementation
public func dlinfer_session_create(_ model: OpaquePointer?, _ options: OpaquePointer?,
                                   _ out: UnsafeMutablePointer<OpaquePointer?>?) -> dlinfer_status {
    guarded {
        let m = box(try required(model, "model", in: "dlinfer_session_create"), as: ModelBox.self)
        let out = try required(out, "out", in: "dlinfer_session_create")
        let opts = options.map { box($0, as: OptionsBox.self).options } ?? SessionOptions()
        out.pointee = retainedHandle(SessionBox(try InferenceSession(model: m.model, options: opts), model: m))
    }
}

@c @implementation
public func dlinfer_session_destroy(_ session: OpaquePointer?) { releaseHandle(session, as: SessionBox.self) }

@c @implementation
public func dlinfer_session_device(_ session: OpaquePointer?, _ outKind: UnsafeMutablePointer<Int32>?,
                                   _ outDeviceIndex: UnsafeMutablePointer<Int32>?,
                                   _ outCPUNodes: UnsafeMutablePointer<Int32>?) -> dlinfer_status {
    guarded {
        let s = box(try required(session, "session", in: "dlinfer_session_device"), as: SessionBox.self).session
        let kind = try required(outKind, "out_kind", in: "dlinfer_session_device")
        let index = try required(outDeviceIndex, "out_device_index", in: "dlinfer_session_device")
        let cpu = try required(outCPUNodes, "out_cpu_nodes", in: "dlinfer_session_device")
        kind.pointee = s.deviceInfo.kind.rawValue
        index.pointee = Int32(s.deviceIndex)
        cpu.pointee = Int32(s.cpuNodeCount)
    }
}

@c @implementation
public func dlinfer_session_device_name(_ session: OpaquePointer?,
                                        _ outName: UnsafeMutablePointer<UnsafePointer<CChar>?>?) -> dlinfer_status {
    guarded {
        let s = box(try required(session, "session", in: "dlinfer_session_device_name"), as: SessionBox.self)
        let out = try required(outName, "out_name", in: "dlinfer_session_device_name")
        out.pointee = UnsafePointer(s.deviceName)
    }
}

/// The checks set_input and bind_input share; returns the element type and shape.
private func inputDescription(_ s: SessionBox, _ index: Int32, _ dtype: Int32, _ dims: UnsafePointer<Int64>?, _ rank: Int32,
                              _ data: UnsafeRawPointer?, _ nbytes: Int?, in function: StaticString) throws -> (DType, [Int]) {
    let inputs = s.session.model.inputs
    guard index >= 0, Int(index) < inputs.count else {
        throw DLInferError.invalid("\(function): input index \(index) is out of range: the model has \(inputs.count) inputs")
    }
    guard let type = DType(rawValue: dtype), type != .string else {
        throw DLInferError.invalid("\(function): dtype code \(dtype) is not a supported DLINFER_DTYPE_* value")
    }
    guard (0...64).contains(rank) else { throw DLInferError.invalid("\(function): rank \(rank) is not in 0...64") }
    guard rank == 0 || dims != nil else { throw DLInferError.invalid("\(function): dims is NULL but rank is \(rank)") }
    var shape = [Int]()
    var bytes = type.byteSize
    for i in 0..<Int(rank) {
        let d = dims![i]
        guard d >= 0 else { throw DLInferError.invalid("\(function): dimension \(i) is negative (\(d))") }
        let (product, overflow) = bytes.multipliedReportingOverflow(by: Int(d))
        guard !overflow else { throw DLInferError.invalid("\(function): the shape's byte size overflows") }
        bytes = product
        shape.append(Int(d))
    }
    guard nbytes == nil || nbytes == bytes else {
        throw DLInferError.invalid("\(function): input '\(inputs[Int(index)].name)' of \(type) shape \(shape) needs \(bytes) bytes, got nbytes = \(nbytes!)")
    }
    guard data != nil || nbytes ?? 0 == 0 else { throw DLInferError.invalid("\(function): data is NULL") }
    // Before anything is allocated for it, so that a wrong shape is reported as such.
    try s.session.model.checkInput(Int(index), dtype: type, shape: shape)
    return (type, shape)
}

@c @implementation
public func dlinfer_session_set_input(_ session: OpaquePointer?, _ index: Int32, _ dtype: Int32, _ dims: UnsafePointer<Int64>?,
                                      _ rank: Int32, _ data: UnsafeRawPointer?, _ nbytes: Int) -> dlinfer_status {
    guarded {
        let s = box(try required(session, "session", in: "dlinfer_session_set_input"), as: SessionBox.self)
        let (type, shape) = try inputDescription(s, index, dtype, dims, rank, data, nbytes, in: "dlinfer_session_set_input")
        let t = try Tensor(dtype: type, shape: shape, budget: s.session.memory)
        if let data, nbytes > 0 { t.raw.copyMemory(from: data, byteCount: nbytes) }
        if type == .bool {
            // Swift's Bool must be exactly 0 or 1; any other byte from C means true.
            let b = t.raw.assumingMemoryBound(to: UInt8.self)
            for i in 0..<nbytes where b[i] > 1 { b[i] = 1 }
        }
        try s.session.setInput(Int(index), t)
        s.inputBuffers[Int(index)] = nil
    }
}

@c @implementation
public func dlinfer_session_input_buffer(_ session: OpaquePointer?, _ index: Int32, _ dtype: Int32, _ dims: UnsafePointer<Int64>?,
                                         _ rank: Int32, _ outData: UnsafeMutablePointer<UnsafeMutableRawPointer?>?) -> dlinfer_status {
    guarded {
        let s = box(try required(session, "session", in: "dlinfer_session_input_buffer"), as: SessionBox.self)
        let out = try required(outData, "out_data", in: "dlinfer_session_input_buffer")
        let (type, shape) = try inputDescription(s, index, dtype, dims, rank, nil, nil, in: "dlinfer_session_input_buffer")
        let t = try Tensor(dtype: type, shape: shape, budget: s.session.memory)
        try s.session.setInput(Int(index), t)
        s.inputBuffers[Int(index)] = t
        out.pointee = t.byteCount > 0 ? t.raw : nil
    }
}

@c @implementation
public func dlinfer_session_bind_input(_ session: OpaquePointer?, _ index: Int32, _ dtype: Int32, _ dims: UnsafePointer<Int64>?,
                                       _ rank: Int32, _ data: UnsafeRawPointer?, _ nbytes: Int) -> dlinfer_status {
    guarded {
        let s = box(try required(session, "session", in: "dlinfer_session_bind_input"), as: SessionBox.self)
        let (type, shape) = try inputDescription(s, index, dtype, dims, rank, data, nbytes, in: "dlinfer_session_bind_input")
        guard let data, nbytes > 0 else {
            try s.session.bindInput(Int(index), try Tensor(dtype: type, shape: shape))
            s.inputBuffers[Int(index)] = nil
            return
        }
        guard Int(bitPattern: data) % type.byteSize == 0 else {
            throw DLInferError.invalid("dlinfer_session_bind_input: data is not aligned to the \(type.byteSize)-byte element size")
        }
        if type == .bool {
            let b = data.assumingMemoryBound(to: UInt8.self)
            for i in 0..<nbytes where b[i] > 1 {
                throw DLInferError.invalid("dlinfer_session_bind_input: bool element \(i) is \(b[i]); bound bool data must be 0 or 1")
            }
        }
        let storage = Storage(borrowing: UnsafeMutableRawPointer(mutating: data), byteCount: nbytes)
        try s.session.bindInput(Int(index), Tensor(dtype: type, shape: shape, storage: storage))
        s.inputBuffers[Int(index)] = nil
    }
}

@c @implementation
public func dlinfer_session_run(_ session: OpaquePointer?) -> dlinfer_status {
    guarded {
        try box(try required(session, "session", in: "dlinfer_session_run"), as: SessionBox.self).run()
    }
}

/// The output `index` of the last successful run.
private func output(_ s: SessionBox, _ index: Int32, in function: StaticString) throws -> Tensor {
    guard s.hasOutputs else { throw DLInferError.invalid("\(function): the session has no outputs: no run has succeeded yet") }
    let outs = s.session.lastOutputs
    guard index >= 0, Int(index) < outs.count else {
        throw DLInferError.invalid("\(function): output index \(index) is out of range: the model has \(outs.count) outputs")
    }
    return outs[Int(index)]
}

@c @implementation
public func dlinfer_session_output_type(_ session: OpaquePointer?, _ index: Int32, _ outDtype: UnsafeMutablePointer<Int32>?,
                                        _ outRank: UnsafeMutablePointer<Int32>?, _ dims: UnsafeMutablePointer<Int64>?,
                                        _ dimsCap: Int32) -> dlinfer_status {
    guarded {
        let s = box(try required(session, "session", in: "dlinfer_session_output_type"), as: SessionBox.self)
        let dtype = try required(outDtype, "out_dtype", in: "dlinfer_session_output_type")
        let rank = try required(outRank, "out_rank", in: "dlinfer_session_output_type")
        let t = try output(s, index, in: "dlinfer_session_output_type")
        try writeType(t.type, dtype, rank, dims, dimsCap, in: "dlinfer_session_output_type")
    }
}

@c @implementation
public func dlinfer_session_copy_output(_ session: OpaquePointer?, _ index: Int32, _ dst: UnsafeMutableRawPointer?,
                                        _ dstBytes: Int) -> dlinfer_status {
    guarded {
        let s = box(try required(session, "session", in: "dlinfer_session_copy_output"), as: SessionBox.self)
        let t = try output(s, index, in: "dlinfer_session_copy_output")
        guard dstBytes >= t.byteCount else {
            throw DLInferError(.bufferTooSmall, "dlinfer_session_copy_output: output \(index) (\(t.dtype) \(t.shape)) needs \(t.byteCount) bytes, dst_bytes is \(dstBytes)")
        }
        guard t.byteCount > 0 else { return }
        let d = try required(dst, "dst", in: "dlinfer_session_copy_output")
        d.copyMemory(from: t.raw, byteCount: t.byteCount)
    }
}

@c @implementation
public func dlinfer_session_output_views(_ session: OpaquePointer?,
                                         _ outViews: UnsafeMutablePointer<UnsafePointer<dlinfer_tensor_view>?>?) -> dlinfer_status {
    guarded {
        let s = box(try required(session, "session", in: "dlinfer_session_output_views"), as: SessionBox.self)
        try required(outViews, "out_views", in: "dlinfer_session_output_views").pointee = UnsafePointer(s.views)
    }
}

@c @implementation
public func dlinfer_session_cancel(_ session: OpaquePointer?) -> dlinfer_status {
    guarded {
        box(try required(session, "session", in: "dlinfer_session_cancel"), as: SessionBox.self).session.cancel()
    }
}
