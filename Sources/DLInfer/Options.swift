import CDLInfer
import DLInferEngine

@c @implementation
public func dlinfer_options_create(_ out: UnsafeMutablePointer<OpaquePointer?>?) -> dlinfer_status {
    guarded {
        let out = try required(out, "out", in: "dlinfer_options_create")
        out.pointee = retainedHandle(OptionsBox())
    }
}

@c @implementation
public func dlinfer_options_set(_ options: OpaquePointer?, _ key: UnsafePointer<CChar>?,
                                _ value: UnsafePointer<CChar>?) -> dlinfer_status {
    guarded {
        let o = box(try required(options, "options", in: "dlinfer_options_set"), as: OptionsBox.self)
        let k = String(cString: try required(key, "key", in: "dlinfer_options_set"))
        let v = String(cString: try required(value, "value", in: "dlinfer_options_set"))
        try o.options.set(k, v)
    }
}

@c @implementation
public func dlinfer_options_destroy(_ options: OpaquePointer?) { releaseHandle(options, as: OptionsBox.self) }
