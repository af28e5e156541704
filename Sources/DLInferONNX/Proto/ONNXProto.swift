// The part of onnx.proto (ONNX 1.x, proto2) the importer reads, decoded by ProtoReader. The type and field names are
// those protoc-gen-swift gives them, so the importer reads like code over the generated types; the tests build models
// with the generated types and SwiftProtobuf (Tests/DLInferTests/Proto), this library needs neither, nor Foundation.
//
// Every field of these messages is decoded or, where dlinfer does not read it, checked as the schema types it
// (strings must be UTF-8, nested messages must decode), so a file is accepted or refused as a full decoder would.

extension ProtoMessage {
    /// Decodes a serialized message; `depthLimit`: the most nested messages (SwiftProtobuf's default is 100).
    init(serializedBytes bytes: [UInt8], depthLimit: Int = 100) throws {
        try self.init(buffer: ProtoBuffer(copying: bytes), depthLimit: depthLimit)
    }

    /// Decodes a message whose bytes fields stay ranges of `buffer`.
    init(buffer: ProtoBuffer, depthLimit: Int = 100) throws {
        self = try ProtoReader.decode(Self.self, from: buffer, depthLimit: depthLimit)
    }
}

struct Onnx_ModelProto: ProtoMessage {
    var producerName = ""
    var producerVersion = ""
    var domain = ""
    private var _modelVersion: Int64?
    var docString = ""
    private var _graph: Onnx_GraphProto?
    var opsetImport: [Onnx_OperatorSetIdProto] = []
    var metadataProps: [Onnx_StringStringEntryProto] = []
    var functions: [Onnx_FunctionProto] = []

    var modelVersion: Int64 { _modelVersion ?? 0 }
    var hasModelVersion: Bool { _modelVersion != nil }
    var graph: Onnx_GraphProto { _graph ?? Onnx_GraphProto() }
    var hasGraph: Bool { _graph != nil }

    mutating func decode(_ r: inout ProtoReader) throws {
        while let field = try r.next() {
            switch field {
            case 1: _ = try r.int64()  // ir_version
            case 2: if let v = try r.string() { producerName = v }
            case 3: if let v = try r.string() { producerVersion = v }
            case 4: if let v = try r.string() { domain = v }
            case 5: if let v = try r.int64() { _modelVersion = v }
            case 6: if let v = try r.string() { docString = v }
            case 7: try r.message(&_graph)
            case 8: try r.message(appendingTo: &opsetImport)
            case 14: try r.message(appendingTo: &metadataProps)
            case 20: try r.checkMessage(Onnx_TrainingInfoProto.self)
            case 25: try r.message(appendingTo: &functions)
            case 26: try r.checkMessage(Onnx_DeviceConfigurationProto.self)
            default: try r.skip()
            }
        }
    }
}

struct Onnx_OperatorSetIdProto: ProtoMessage {
    var domain = ""
    var version: Int64 = 0

    mutating func decode(_ r: inout ProtoReader) throws {
        while let field = try r.next() {
            switch field {
            case 1: if let v = try r.string() { domain = v }
            case 2: if let v = try r.int64() { version = v }
            default: try r.skip()
            }
        }
    }
}

struct Onnx_StringStringEntryProto: ProtoMessage {
    var key = ""
    var value = ""

    mutating func decode(_ r: inout ProtoReader) throws {
        while let field = try r.next() {
            switch field {
            case 1: if let v = try r.string() { key = v }
            case 2: if let v = try r.string() { value = v }
            default: try r.skip()
            }
        }
    }
}

struct Onnx_GraphProto: ProtoMessage {
    var node: [Onnx_NodeProto] = []
    var name = ""
    var initializer: [Onnx_TensorProto] = []
    /// Refused by the importer: only how many there are is kept.
    var sparseInitializer: [Onnx_SparseTensorProto] = []
    var docString = ""
    var input: [Onnx_ValueInfoProto] = []
    var output: [Onnx_ValueInfoProto] = []
    var valueInfo: [Onnx_ValueInfoProto] = []

    mutating func decode(_ r: inout ProtoReader) throws {
        while let field = try r.next() {
            switch field {
            case 1: try r.message(appendingTo: &node)
            case 2: if let v = try r.string() { name = v }
            case 5: try r.message(appendingTo: &initializer)
            case 10: if let v = try r.string() { docString = v }
            case 11: try r.message(appendingTo: &input)
            case 12: try r.message(appendingTo: &output)
            case 13: try r.message(appendingTo: &valueInfo)
            case 14: try r.checkMessage(Onnx_TensorAnnotation.self)  // quantization_annotation
            case 15: try r.message(appendingTo: &sparseInitializer)
            case 16: try r.checkMessage(Onnx_StringStringEntryProto.self)  // metadata_props
            default: try r.skip()
            }
        }
    }
}

struct Onnx_NodeProto: ProtoMessage {
    var input: [String] = []
    var output: [String] = []
    var name = ""
    var opType = ""
    var domain = ""
    var attribute: [Onnx_AttributeProto] = []

    mutating func decode(_ r: inout ProtoReader) throws {
        while let field = try r.next() {
            switch field {
            case 1: try r.strings(appendingTo: &input)
            case 2: try r.strings(appendingTo: &output)
            case 3: if let v = try r.string() { name = v }
            case 4: if let v = try r.string() { opType = v }
            case 5: try r.message(appendingTo: &attribute)
            case 6, 8: _ = try r.string()  // doc_string, overload
            case 7: if let v = try r.string() { domain = v }
            case 9: try r.checkMessage(Onnx_StringStringEntryProto.self)  // metadata_props
            case 10: try r.checkMessage(Onnx_NodeDeviceConfigurationProto.self)  // device_configurations
            default: try r.skip()
            }
        }
    }
}

struct Onnx_AttributeProto: ProtoMessage {
    enum AttributeType: Int {
        case undefined = 0
        case float = 1
        case int = 2
        case string = 3
        case tensor = 4
        case graph = 5
        case sparseTensor = 11
        case typeProto = 13
        case floats = 6
        case ints = 7
        case strings = 8
        case tensors = 9
        case graphs = 10
        case sparseTensors = 12
        case typeProtos = 14
    }

    var name = ""
    private var _refAttrName: String?
    var type = AttributeType.undefined
    var f: Float = 0
    var i: Int64 = 0
    var s = ProtoBytes.empty
    private var _t: Onnx_TensorProto?
    private var _g: Onnx_GraphProto?
    var floats: [Float] = []
    var ints: [Int64] = []
    var strings: [ProtoBytes] = []
    var graphs: [Onnx_GraphProto] = []

    var refAttrName: String { _refAttrName ?? "" }
    var hasRefAttrName: Bool { _refAttrName != nil }
    var t: Onnx_TensorProto { _t ?? Onnx_TensorProto() }
    var g: Onnx_GraphProto { _g ?? Onnx_GraphProto() }
    var hasG: Bool { _g != nil }

    mutating func decode(_ r: inout ProtoReader) throws {
        while let field = try r.next() {
            switch field {
            case 1: if let v = try r.string() { name = v }
            case 2: if let v = try r.float() { f = v }
            case 3: if let v = try r.int64() { i = v }
            case 4: if let v = try r.bytesField() { s = v }
            case 5: try r.message(&_t)
            case 6: try r.message(&_g)
            case 7: try r.floats(appendingTo: &floats)
            case 8: try r.int64s(appendingTo: &ints)
            case 9: try r.bytesFields(appendingTo: &strings)
            case 10: try r.checkMessage(Onnx_TensorProto.self)  // tensors
            case 11: try r.message(appendingTo: &graphs)
            case 13: _ = try r.string()  // doc_string
            case 14, 15: try r.checkMessage(Onnx_TypeProto.self)  // tp, type_protos
            case 20: if let v = try r.enumValue(AttributeType.self) { type = v }
            case 21: if let v = try r.string() { _refAttrName = v }
            case 22, 23: try r.checkMessage(Onnx_SparseTensorProto.self)  // sparse_tensor, sparse_tensors
            default: try r.skip()
            }
        }
    }
}

struct Onnx_ValueInfoProto: ProtoMessage {
    var name = ""
    private var _type: Onnx_TypeProto?

    var type: Onnx_TypeProto { _type ?? Onnx_TypeProto() }
    var hasType: Bool { _type != nil }

    mutating func decode(_ r: inout ProtoReader) throws {
        while let field = try r.next() {
            switch field {
            case 1: if let v = try r.string() { name = v }
            case 2: try r.message(&_type)
            case 3: _ = try r.string()  // doc_string
            case 4: try r.checkMessage(Onnx_StringStringEntryProto.self)  // metadata_props
            default: try r.skip()
            }
        }
    }
}

struct Onnx_TensorProto: ProtoMessage {
    enum DataLocation: Int {
        case `default` = 0
        case external = 1
    }

    var dims: [Int64] = []
    var dataType: Int32 = 0
    var floatData: [Float] = []
    var int32Data: [Int32] = []
    /// Refused by the importer (string tensors): only how many there are is read.
    var stringData: [ProtoBytes] = []
    var int64Data: [Int64] = []
    var name = ""
    private var _rawData: ProtoBytes?
    var doubleData: [Double] = []
    var uint64Data: [UInt64] = []
    var externalData: [Onnx_StringStringEntryProto] = []
    var dataLocation = DataLocation.default

    var rawData: ProtoBytes { _rawData ?? .empty }
    var hasRawData: Bool { _rawData != nil }

    mutating func decode(_ r: inout ProtoReader) throws {
        while let field = try r.next() {
            switch field {
            case 1: try r.int64s(appendingTo: &dims)
            case 2: if let v = try r.int32() { dataType = v }
            case 3: try r.checkMessage(Onnx_TensorProto.Segment.self)
            case 4: try r.floats(appendingTo: &floatData)
            case 5: try r.int32s(appendingTo: &int32Data)
            case 6: try r.bytesFields(appendingTo: &stringData)
            case 7: try r.int64s(appendingTo: &int64Data)
            case 8: if let v = try r.string() { name = v }
            case 9: if let v = try r.bytesField() { _rawData = v }
            case 10: try r.doubles(appendingTo: &doubleData)
            case 11: try r.uint64s(appendingTo: &uint64Data)
            case 12: _ = try r.string()  // doc_string
            case 13: try r.message(appendingTo: &externalData)
            case 14: if let v = try r.enumValue(DataLocation.self) { dataLocation = v }
            case 16: try r.checkMessage(Onnx_StringStringEntryProto.self)  // metadata_props
            default: try r.skip()
            }
        }
    }

    struct Segment: ProtoMessage {
        mutating func decode(_ r: inout ProtoReader) throws {
            while let field = try r.next() {
                switch field {
                case 1, 2: _ = try r.int64()  // begin, end
                default: try r.skip()
                }
            }
        }
    }
}

struct Onnx_TypeProto: ProtoMessage {
    /// The `value` oneof. Only a tensor type is read; the others are told apart by their field number.
    enum OneOf_Value {
        case tensorType(Tensor)
        /// sequence_type (4), map_type (5), opaque_type (7), sparse_tensor_type (8) or optional_type (9).
        case other(field: Int)
    }

    var value: OneOf_Value?

    mutating func decode(_ r: inout ProtoReader) throws {
        while let field = try r.next() {
            switch field {
            case 1:
                // A oneof message field merges into the value when that is the same case, else replaces it.
                var current: Tensor? = nil
                if case .tensorType(let t)? = value { current = t }
                try r.message(&current)
                if let current { value = .tensorType(current) }
            case 4: if try r.checkMessage(SequenceType.self) { value = .other(field: field) }
            case 5: if try r.checkMessage(MapType.self) { value = .other(field: field) }
            case 7: if try r.checkMessage(OpaqueType.self) { value = .other(field: field) }
            case 8: if try r.checkMessage(SparseTensorType.self) { value = .other(field: field) }
            case 9: if try r.checkMessage(OptionalType.self) { value = .other(field: field) }
            case 6: _ = try r.string()  // denotation
            default: try r.skip()
            }
        }
    }

    struct Tensor: ProtoMessage {
        var elemType: Int32 = 0
        private var _shape: Onnx_TensorShapeProto?

        var shape: Onnx_TensorShapeProto { _shape ?? Onnx_TensorShapeProto() }
        var hasShape: Bool { _shape != nil }

        mutating func decode(_ r: inout ProtoReader) throws {
            while let field = try r.next() {
                switch field {
                case 1: if let v = try r.int32() { elemType = v }
                case 2: try r.message(&_shape)
                default: try r.skip()
                }
            }
        }
    }

    struct SequenceType: ProtoMessage {
        mutating func decode(_ r: inout ProtoReader) throws {
            while let field = try r.next() {
                switch field {
                case 1: try r.checkMessage(Onnx_TypeProto.self)  // elem_type
                default: try r.skip()
                }
            }
        }
    }

    struct MapType: ProtoMessage {
        mutating func decode(_ r: inout ProtoReader) throws {
            while let field = try r.next() {
                switch field {
                case 1: _ = try r.int32()  // key_type
                case 2: try r.checkMessage(Onnx_TypeProto.self)  // value_type
                default: try r.skip()
                }
            }
        }
    }

    struct OptionalType: ProtoMessage {
        mutating func decode(_ r: inout ProtoReader) throws {
            while let field = try r.next() {
                switch field {
                case 1: try r.checkMessage(Onnx_TypeProto.self)  // elem_type
                default: try r.skip()
                }
            }
        }
    }

    struct SparseTensorType: ProtoMessage {
        mutating func decode(_ r: inout ProtoReader) throws {
            while let field = try r.next() {
                switch field {
                case 1: _ = try r.int32()  // elem_type
                case 2: try r.checkMessage(Onnx_TensorShapeProto.self)  // shape
                default: try r.skip()
                }
            }
        }
    }

    struct OpaqueType: ProtoMessage {
        mutating func decode(_ r: inout ProtoReader) throws {
            while let field = try r.next() {
                switch field {
                case 1, 2: _ = try r.string()  // domain, name
                default: try r.skip()
                }
            }
        }
    }
}

struct Onnx_TensorShapeProto: ProtoMessage {
    var dim: [Dimension] = []

    mutating func decode(_ r: inout ProtoReader) throws {
        while let field = try r.next() {
            switch field {
            case 1: try r.message(appendingTo: &dim)
            default: try r.skip()
            }
        }
    }

    struct Dimension: ProtoMessage {
        enum OneOf_Value {
            case dimValue(Int64)
            case dimParam(String)
        }

        var value: OneOf_Value?

        mutating func decode(_ r: inout ProtoReader) throws {
            while let field = try r.next() {
                switch field {
                case 1: if let v = try r.int64() { value = .dimValue(v) }
                case 2: if let v = try r.string() { value = .dimParam(v) }
                case 3: _ = try r.string()  // denotation
                default: try r.skip()
                }
            }
        }
    }
}

struct Onnx_FunctionProto: ProtoMessage {
    var name = ""
    var input: [String] = []
    var output: [String] = []
    var attribute: [String] = []
    var node: [Onnx_NodeProto] = []
    var opsetImport: [Onnx_OperatorSetIdProto] = []
    var domain = ""
    var attributeProto: [Onnx_AttributeProto] = []
    var overload = ""

    mutating func decode(_ r: inout ProtoReader) throws {
        while let field = try r.next() {
            switch field {
            case 1: if let v = try r.string() { name = v }
            case 4: try r.strings(appendingTo: &input)
            case 5: try r.strings(appendingTo: &output)
            case 6: try r.strings(appendingTo: &attribute)
            case 7: try r.message(appendingTo: &node)
            case 8: _ = try r.string()  // doc_string
            case 9: try r.message(appendingTo: &opsetImport)
            case 10: if let v = try r.string() { domain = v }
            case 11: try r.message(appendingTo: &attributeProto)
            case 12: try r.checkMessage(Onnx_ValueInfoProto.self)  // value_info
            case 13: if let v = try r.string() { overload = v }
            case 14: try r.checkMessage(Onnx_StringStringEntryProto.self)  // metadata_props
            default: try r.skip()
            }
        }
    }
}

// Messages dlinfer does not read, decoded only to check them.

struct Onnx_SparseTensorProto: ProtoMessage {
    mutating func decode(_ r: inout ProtoReader) throws {
        while let field = try r.next() {
            switch field {
            case 1, 2: try r.checkMessage(Onnx_TensorProto.self)  // values, indices
            case 3: var dims = [Int64](); try r.int64s(appendingTo: &dims)
            default: try r.skip()
            }
        }
    }
}

struct Onnx_TensorAnnotation: ProtoMessage {
    mutating func decode(_ r: inout ProtoReader) throws {
        while let field = try r.next() {
            switch field {
            case 1: _ = try r.string()  // tensor_name
            case 2: try r.checkMessage(Onnx_StringStringEntryProto.self)  // quant_parameter_tensor_names
            default: try r.skip()
            }
        }
    }
}

struct Onnx_TrainingInfoProto: ProtoMessage {
    mutating func decode(_ r: inout ProtoReader) throws {
        while let field = try r.next() {
            switch field {
            case 1, 2: try r.checkMessage(Onnx_GraphProto.self)  // initialization, algorithm
            case 3, 4: try r.checkMessage(Onnx_StringStringEntryProto.self)  // initialization_binding, update_binding
            default: try r.skip()
            }
        }
    }
}

struct Onnx_DeviceConfigurationProto: ProtoMessage {
    mutating func decode(_ r: inout ProtoReader) throws {
        while let field = try r.next() {
            switch field {
            case 1, 3: _ = try r.string()  // name, device
            case 2: _ = try r.int32()  // num_devices
            default: try r.skip()
            }
        }
    }
}

struct Onnx_NodeDeviceConfigurationProto: ProtoMessage {
    mutating func decode(_ r: inout ProtoReader) throws {
        while let field = try r.next() {
            switch field {
            case 1: _ = try r.string()  // configuration_id
            case 2: try r.checkMessage(Onnx_ShardingSpecProto.self)  // sharding_spec
            case 3: _ = try r.int32()  // pipeline_stage
            default: try r.skip()
            }
        }
    }
}

struct Onnx_ShardingSpecProto: ProtoMessage {
    mutating func decode(_ r: inout ProtoReader) throws {
        while let field = try r.next() {
            switch field {
            case 1: _ = try r.string()  // tensor_name
            case 2: var device = [Int64](); try r.int64s(appendingTo: &device)
            case 3: try r.checkMessage(Onnx_IntIntListEntryProto.self)  // index_to_device_group_map
            case 4: try r.checkMessage(Onnx_ShardedDimProto.self)  // sharded_dim
            default: try r.skip()
            }
        }
    }
}

struct Onnx_IntIntListEntryProto: ProtoMessage {
    mutating func decode(_ r: inout ProtoReader) throws {
        while let field = try r.next() {
            switch field {
            case 1: _ = try r.int64()  // key
            case 2: var value = [Int64](); try r.int64s(appendingTo: &value)
            default: try r.skip()
            }
        }
    }
}

struct Onnx_ShardedDimProto: ProtoMessage {
    mutating func decode(_ r: inout ProtoReader) throws {
        while let field = try r.next() {
            switch field {
            case 1: _ = try r.int64()  // axis
            case 2: try r.checkMessage(Onnx_SimpleShardedDimProto.self)  // simple_sharding
            default: try r.skip()
            }
        }
    }
}

struct Onnx_SimpleShardedDimProto: ProtoMessage {
    mutating func decode(_ r: inout ProtoReader) throws {
        while let field = try r.next() {
            switch field {
            case 1: _ = try r.int64()  // dim_value (oneof dim)
            case 2: _ = try r.string()  // dim_param (oneof dim)
            case 3: _ = try r.int64()  // num_shards
            default: try r.skip()
            }
        }
    }
}
