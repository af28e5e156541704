"""dlinfer dtype codes (ONNX TensorProto numbering) and their numpy and onnxruntime-style names."""
import numpy as np

# code: (numpy dtype, onnxruntime type string)
DTYPES = {
    1: (np.dtype(np.float32), "tensor(float)"),
    2: (np.dtype(np.uint8), "tensor(uint8)"),
    3: (np.dtype(np.int8), "tensor(int8)"),
    4: (np.dtype(np.uint16), "tensor(uint16)"),
    5: (np.dtype(np.int16), "tensor(int16)"),
    6: (np.dtype(np.int32), "tensor(int32)"),
    7: (np.dtype(np.int64), "tensor(int64)"),
    9: (np.dtype(np.bool_), "tensor(bool)"),
    10: (np.dtype(np.float16), "tensor(float16)"),
    11: (np.dtype(np.float64), "tensor(double)"),
    12: (np.dtype(np.uint32), "tensor(uint32)"),
    13: (np.dtype(np.uint64), "tensor(uint64)"),
}
try:  # numpy has no bfloat16, 8-bit floats or 2- and 4-bit types; ml_dtypes (which onnx depends on) provides them
    import ml_dtypes

    DTYPES[16] = (np.dtype(ml_dtypes.bfloat16), "tensor(bfloat16)")
    # The 2- and 4-bit types are one element per byte in ml_dtypes, as in dlinfer's C API.
    for _code, _name, _ort in [(17, "float8_e4m3fn", "float8e4m3fn"), (18, "float8_e4m3fnuz", "float8e4m3fnuz"),
                               (19, "float8_e5m2", "float8e5m2"), (20, "float8_e5m2fnuz", "float8e5m2fnuz"),
                               (24, "float8_e8m0fnu", "float8e8m0"), (21, "uint4", "uint4"), (22, "int4", "int4"),
                               (23, "float4_e2m1fn", "float4e2m1"), (25, "uint2", "uint2"), (26, "int2", "int2")]:
        if hasattr(ml_dtypes, _name):  # float8_e8m0fnu and float4_e2m1fn came in ml_dtypes 0.5, int2/uint2 in 0.5
            DTYPES[_code] = (np.dtype(getattr(ml_dtypes, _name)), f"tensor({_ort})")
except ImportError:
    pass

CODES = {dt: code for code, (dt, _) in DTYPES.items()}
# By dtype number, for native-order dtypes: a run looks up every input's dtype, and hashing a dtype object costs
# more than the rest of a small model's run (numbers of equivalent C types differ, e.g. long and long long; those
# take the general path).
_CODES_BY_NUM = {dt.num: code for code, (dt, _) in DTYPES.items()}


def code_of(dtype):
    """The dtype code for a numpy dtype of native byte order, or None if dlinfer has no such type."""
    if isinstance(dtype, np.dtype) and dtype.isnative:
        code = _CODES_BY_NUM.get(dtype.num)
        if code is not None:
            return code
    return CODES.get(np.dtype(dtype).newbyteorder("="))
