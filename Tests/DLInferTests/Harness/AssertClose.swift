import DLInferCore
import Foundation
import XCTest

// The op tests' one comparison of a result with an independent reference. A dtype or shape that differs from the
// reference's fails before any value is looked at (reading a float64 result as float32, or a [2, 3] result as [3, 2],
// would otherwise compare garbage or the wrong elements). Floats then agree within atol + rtol·|want|, NaN only where
// the reference is NaN and infinities exactly; integers and bools must be equal.
//
// (The ONNX node-test runner keeps its own `compare`, which follows onnx's backend tests: every type within the
// case's tolerances, and a floor of two ulps for float16/bfloat16 results.)

/// Fails unless `got` has `want`'s dtype and shape and the same values (see above).
func assertClose(_ got: Tensor, _ want: Tensor, rtol: Double, atol: Double, _ what: String = "",
                 file: StaticString = #filePath, line: UInt = #line) {
    guard sameType(got, want.dtype, want.shape, what, file: file, line: line) else { return }
    if want.dtype.isFloatingPoint {
        compareValues(elementValues(got), elementValues(want), shape: want.shape, rtol: rtol, atol: atol, what,
                      file: file, line: line)
        return
    }
    let size = want.dtype.byteSize
    if let i = (0..<want.count).first(where: { memcmp(got.raw + $0 * size, want.raw + $0 * size, size) != 0 }) {
        XCTFail("\(label(what))element \(i) of \(want.shape) is \(element(got, i)), expected \(element(want, i))",
                file: file, line: line)
    }
}

/// Fails unless `got` is a `dtype` tensor of `shape` whose values are close to `want`, computed in double precision
/// (integer results must equal them exactly).
func assertClose(_ got: Tensor, _ want: [Double], dtype: DType = .float32, shape: [Int], rtol: Double, atol: Double,
                 _ what: String = "", file: StaticString = #filePath, line: UInt = #line) {
    guard want.count == shape.elementCount else {
        XCTFail("\(label(what))the reference has \(want.count) values for shape \(shape)", file: file, line: line)
        return
    }
    guard sameType(got, dtype, shape, what, file: file, line: line) else { return }
    let exact = !dtype.isFloatingPoint
    compareValues(elementValues(got), want, shape: shape, rtol: exact ? 0 : rtol, atol: exact ? 0 : atol, what,
                  file: file, line: line)
}

/// The same with a single-precision reference (disfavoured: an array literal is a double-precision reference).
@_disfavoredOverload
func assertClose(_ got: Tensor, _ want: [Float], dtype: DType = .float32, shape: [Int], rtol: Double, atol: Double,
                 _ what: String = "", file: StaticString = #filePath, line: UInt = #line) {
    assertClose(got, want.map(Double.init), dtype: dtype, shape: shape, rtol: rtol, atol: atol, what, file: file, line: line)
}

/// One value against its reference, by the same rule (for checks that report each element in their own words).
func assertClose(_ got: Double, _ want: Double, rtol: Double, atol: Double, _ what: String = "",
                 file: StaticString = #filePath, line: UInt = #line) {
    if !isClose(got, want, rtol: rtol, atol: atol) {
        XCTFail("\(label(what))got \(got), expected \(want)", file: file, line: line)
    }
}

/// Every element of a numeric tensor as a Double (8-bit floats decoded through their table).
func elementValues(_ t: Tensor) -> [Double] {
    func widen<T: TensorElement>(_: T.Type, _ f: (T) -> Double) -> [Double] { t.buffer(T.self).map(f) }
    switch t.dtype {
    case .float32: return widen(Float.self) { Double($0) }
    case .float64: return t.array(Double.self)
    case .float16: return widen(Half.self) { Double($0.float) }
    case .bfloat16: return widen(BFloat16.self) { Double($0.float) }
    case .int8: return widen(Int8.self) { Double($0) }
    case .int16: return widen(Int16.self) { Double($0) }
    case .int32: return widen(Int32.self) { Double($0) }
    case .int64: return widen(Int64.self) { Double($0) }
    case .uint8: return widen(UInt8.self) { Double($0) }
    case .uint16: return widen(UInt16.self) { Double($0) }
    case .uint32: return widen(UInt32.self) { Double($0) }
    case .uint64: return widen(UInt64.self) { Double($0) }
    case .bool: return widen(Bool.self) { $0 ? 1 : 0 }
    case .float8e4m3fn, .float8e4m3fnuz, .float8e5m2, .float8e5m2fnuz, .float8e8m0:
        let table = t.dtype.float8Format!.table
        return UnsafeBufferPointer(start: t.raw.assumingMemoryBound(to: UInt8.self), count: t.count).map { Double(table[Int($0)]) }
    case .int4, .uint4, .int2, .uint2, .float4e2m1:
        let table = SubByte.table(t.dtype)
        return UnsafeBufferPointer(start: t.raw.assumingMemoryBound(to: UInt8.self), count: t.count).map { Double(table[Int($0)]) }
    case .string: return []
    }
}

/// NaN matches NaN; an infinite reference must be met exactly (the tolerance test alone would let any value
/// within an infinite bound pass).
private func isClose(_ a: Double, _ b: Double, rtol: Double, atol: Double) -> Bool {
    if a == b || (a.isNaN && b.isNaN) { return true }
    guard b.isFinite else { return false }
    return abs(a - b) <= atol + rtol * abs(b)
}

private func sameType(_ got: Tensor, _ dtype: DType, _ shape: [Int], _ what: String, file: StaticString, line: UInt) -> Bool {
    if got.dtype != dtype {
        XCTFail("\(label(what))dtype \(got.dtype), expected \(dtype)", file: file, line: line)
        return false
    }
    if got.shape != shape {
        XCTFail("\(label(what))shape \(got.shape), expected \(shape)", file: file, line: line)
        return false
    }
    if dtype == .string {
        XCTFail("\(label(what))string tensors are not compared", file: file, line: line)
        return false
    }
    return true
}

/// Reports the first element out of tolerance and how many are.
private func compareValues(_ got: [Double], _ want: [Double], shape: [Int], rtol: Double, atol: Double, _ what: String,
                           file: StaticString, line: UInt) {
    var first = -1, count = 0
    for i in want.indices where !isClose(got[i], want[i], rtol: rtol, atol: atol) {
        if first < 0 { first = i }
        count += 1
    }
    guard first >= 0 else { return }
    XCTFail("\(label(what))element \(first) of \(shape) is \(got[first]), expected \(want[first])"
            + (count > 1 ? " (\(count) elements differ)" : ""), file: file, line: line)
}

private func element(_ t: Tensor, _ i: Int) -> String {
    switch t.dtype {
    case .uint64: return String(t.buffer(UInt64.self)[i])
    case .bool: return String(t.buffer(Bool.self)[i])
    default: return String(t.integerValue(at: i))
    }
}

private func label(_ what: String) -> String { what.isEmpty ? "" : "\(what): " }
