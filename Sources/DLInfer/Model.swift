import CDLInfer
import DLInferCore
import DLInferEngine

@c @implementation
public func dlinfer_model_load_file(_ path: UnsafePointer<CChar>?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> dlinfer_status {
    guarded {
        let p = String(cString: try required(path, "path", in: "dlinfer_model_load_file"))
        let out = try required(out, "out", in: "dlinfer_model_load_file")
        out.pointee = retainedHandle(ModelBox(try Model.load(path: p)))
    }
}

@c @implementation
public func dlinfer_model_load_buffer(_ data: UnsafeRawPointer?, _ size: Int,
                                      _ out: UnsafeMutablePointer<OpaquePointer?>?) -> dlinfer_status {
    guarded {
        let d = try required(data, "data", in: "dlinfer_model_load_buffer")
        let out = try required(out, "out", in: "dlinfer_model_load_buffer")
        out.pointee = retainedHandle(ModelBox(try Model.load(bytes: UnsafeRawBufferPointer(start: d, count: size))))
    }
}

@c @implementation
public func dlinfer_model_release(_ model: OpaquePointer?) { releaseHandle(model, as: ModelBox.self) }

@c @implementation
public func dlinfer_model_io_count(_ model: OpaquePointer?, _ outInputs: UnsafeMutablePointer<Int32>?,
                                   _ outOutputs: UnsafeMutablePointer<Int32>?) -> dlinfer_status {
    guarded {
        let m = box(try required(model, "model", in: "dlinfer_model_io_count"), as: ModelBox.self).model
        guard outInputs != nil || outOutputs != nil else {
            throw DLInferError.invalid("dlinfer_model_io_count: out_inputs and out_outputs are both NULL")
        }
        outInputs?.pointee = Int32(m.inputs.count)
        outOutputs?.pointee = Int32(m.outputs.count)
    }
}

@c @implementation
public func dlinfer_model_io_name(_ model: OpaquePointer?, _ isOutput: Int32, _ index: Int32,
                                  _ outName: UnsafeMutablePointer<UnsafePointer<CChar>?>?) -> dlinfer_status {
    guarded {
        let b = box(try required(model, "model", in: "dlinfer_model_io_name"), as: ModelBox.self)
        let out = try required(outName, "out_name", in: "dlinfer_model_io_name")
        let i = try ioIndex(b.model, isOutput: isOutput, index, in: "dlinfer_model_io_name")
        out.pointee = UnsafePointer(isOutput == 1 ? b.outputNames[i] : b.inputNames[i])
    }
}

@c @implementation
public func dlinfer_model_io_index(_ model: OpaquePointer?, _ isOutput: Int32, _ name: UnsafePointer<CChar>?,
                                   _ outIndex: UnsafeMutablePointer<Int32>?) -> dlinfer_status {
    guarded {
        let m = box(try required(model, "model", in: "dlinfer_model_io_index"), as: ModelBox.self).model
        let n = String(cString: try required(name, "name", in: "dlinfer_model_io_index"))
        let out = try required(outIndex, "out_index", in: "dlinfer_model_io_index")
        guard isOutput == 0 || isOutput == 1 else {
            throw DLInferError.invalid("dlinfer_model_io_index: is_output must be 0 or 1, got \(isOutput)")
        }
        let role = isOutput == 1 ? "output" : "input"
        guard let i = isOutput == 1 ? m.outputIndex(n) : m.inputIndex(n) else {
            let names = (isOutput == 1 ? m.outputs : m.inputs).map { "'\($0.name)'" }.joined(separator: ", ")
            throw DLInferError(.notFound, "the model has no \(role) named '\(n)'; its \(role)s are \(names)")
        }
        out.pointee = Int32(i)
    }
}

@c @implementation
public func dlinfer_model_io_type(_ model: OpaquePointer?, _ isOutput: Int32, _ index: Int32,
                                  _ outDtype: UnsafeMutablePointer<Int32>?, _ outRank: UnsafeMutablePointer<Int32>?,
                                  _ dims: UnsafeMutablePointer<Int64>?, _ dimsCap: Int32) -> dlinfer_status {
    guarded {
        let m = box(try required(model, "model", in: "dlinfer_model_io_type"), as: ModelBox.self).model
        let dtype = try required(outDtype, "out_dtype", in: "dlinfer_model_io_type")
        let rank = try required(outRank, "out_rank", in: "dlinfer_model_io_type")
        let i = try ioIndex(m, isOutput: isOutput, index, in: "dlinfer_model_io_type")
        try writeType((isOutput == 1 ? m.outputs : m.inputs)[i].type, dtype, rank, dims, dimsCap, in: "dlinfer_model_io_type")
    }
}

@c @implementation
public func dlinfer_model_io_dim_name(_ model: OpaquePointer?, _ isOutput: Int32, _ index: Int32, _ axis: Int32,
                                      _ outName: UnsafeMutablePointer<UnsafePointer<CChar>?>?) -> dlinfer_status {
    guarded {
        let b = box(try required(model, "model", in: "dlinfer_model_io_dim_name"), as: ModelBox.self)
        let out = try required(outName, "out_name", in: "dlinfer_model_io_dim_name")
        let i = try ioIndex(b.model, isOutput: isOutput, index, in: "dlinfer_model_io_dim_name")
        let names = (isOutput == 1 ? b.outputDimNames : b.inputDimNames)[i]
        guard axis >= 0, Int(axis) < names.count else {
            throw DLInferError.invalid("dlinfer_model_io_dim_name: axis \(axis) is out of range for rank \(names.count)")
        }
        out.pointee = UnsafePointer(names[Int(axis)])
    }
}

@c @implementation
public func dlinfer_model_metadata_count(_ model: OpaquePointer?, _ outCount: UnsafeMutablePointer<Int32>?) -> dlinfer_status {
    guarded {
        let b = box(try required(model, "model", in: "dlinfer_model_metadata_count"), as: ModelBox.self)
        try required(outCount, "out_count", in: "dlinfer_model_metadata_count").pointee = Int32(clamping: b.metadata.count)
    }
}

@c @implementation
public func dlinfer_model_metadata(_ model: OpaquePointer?, _ index: Int32, _ outKey: UnsafeMutablePointer<UnsafePointer<CChar>?>?,
                                   _ outValue: UnsafeMutablePointer<UnsafePointer<CChar>?>?) -> dlinfer_status {
    guarded {
        let b = box(try required(model, "model", in: "dlinfer_model_metadata"), as: ModelBox.self)
        let key = try required(outKey, "out_key", in: "dlinfer_model_metadata")
        let value = try required(outValue, "out_value", in: "dlinfer_model_metadata")
        guard index >= 0, Int(index) < b.metadata.count else {
            throw DLInferError.invalid("dlinfer_model_metadata: index \(index) is out of range: the model has \(b.metadata.count) entries")
        }
        key.pointee = UnsafePointer(b.metadata[Int(index)].key)
        value.pointee = UnsafePointer(b.metadata[Int(index)].value)
    }
}
