import CDLInfer
import DLInferCore
import DLInferEngine

@c @implementation
public func dlinfer_api_version() -> UInt32 {
    UInt32(DLINFER_VERSION_MAJOR) << 16 | UInt32(DLINFER_VERSION_MINOR)
}

@c @implementation
public func dlinfer_version_string() -> UnsafePointer<CChar>? { cString(Version.string) }

@c @implementation
public func dlinfer_last_error() -> UnsafePointer<CChar>? { lastErrorPointer() }

@c @implementation
public func dlinfer_status_name(_ status: dlinfer_status) -> UnsafePointer<CChar>? { cString(statusName(status)) }

@c @implementation
public func dlinfer_device_count(_ outCount: UnsafeMutablePointer<Int32>?) -> dlinfer_status {
    guarded {
        let out = try required(outCount, "out_count", in: "dlinfer_device_count")
        out.pointee = Int32(deviceNames.count)
    }
}

@c @implementation
public func dlinfer_device_info(_ index: Int32, _ outKind: UnsafeMutablePointer<Int32>?,
                                _ outName: UnsafeMutablePointer<UnsafePointer<CChar>?>?) -> dlinfer_status {
    guarded {
        let kind = try required(outKind, "out_kind", in: "dlinfer_device_info")
        let name = try required(outName, "out_name", in: "dlinfer_device_info")
        let devices = Devices.list()
        guard index >= 0, Int(index) < devices.count else {
            throw DLInferError.invalid("dlinfer_device_info: device index \(index) is out of range: there are \(devices.count) devices")
        }
        kind.pointee = devices[Int(index)].kind.rawValue
        name.pointee = UnsafePointer(deviceNames[Int(index)])
    }
}

@c @implementation
public func dlinfer_resolve_device(_ options: OpaquePointer?, _ outKind: UnsafeMutablePointer<Int32>?,
                                   _ outIndex: UnsafeMutablePointer<Int32>?) -> dlinfer_status {
    guarded {
        let kind = try required(outKind, "out_kind", in: "dlinfer_resolve_device")
        let index = try required(outIndex, "out_index", in: "dlinfer_resolve_device")
        let opts = options.map { box($0, as: OptionsBox.self).options } ?? SessionOptions()
        let (i, info) = try Devices.select(opts)
        kind.pointee = info.kind.rawValue
        index.pointee = Int32(i)
    }
}
