import DLInferCore
import DLInferEngine
import DLInferONNX
import Foundation
import XCTest

/// If, Loop and Scan with bodies that read outer-scope values, nest, change shapes between iterations and stack scan
/// outputs, against references computed here; and model-local functions inlined at load.
final class ControlFlowTests: XCTestCase {
    private func f32(_ v: [Float], _ shape: [Int]) -> Tensor { Tensor(v, shape: shape) }

    /// then: x * outer scale; else: x + 100 — both read outer-scope values (x and a weight).
    func testIfReadsOuterValuesAndPicksTheBranch() throws {
        var then = ModelBuilder(opset: 21)
        then.node("Mul", ["x", "scale"], ["t"])
        then.output("t", .float32)
        var otherwise = ModelBuilder(opset: 21)
        otherwise.node("Add", ["x", "hundred"], ["e"])
        otherwise.output("e", .float32)
        var b = ModelBuilder(opset: 21)
        b.input("cond", .bool, [])
        b.input("x", .float32, [.symbol("n")])
        b.constant("scale", f32([3], []))
        b.constant("hundred", f32([100], []))
        b.node("If", ["cond"], ["y"], [attr("then_branch", then.graph), attr("else_branch", otherwise.graph)])
        b.output("y", .float32)
        let session = try InferenceSession(model: b.load())
        let x = f32([1, 2, 3], [3])
        XCTAssertEqual(try session.run([.scalar(true), x])[0].array(Float.self), [3, 6, 9])
        XCTAssertEqual(try session.run([.scalar(false), x])[0].array(Float.self), [101, 102, 103])
        XCTAssertEqual(try session.run([.scalar(true), f32([5], [1])])[0].array(Float.self), [15])
    }

    /// Branches returning different shapes: the output's shape is the chosen branch's.
    func testIfBranchesOfDifferentShapes() throws {
        var then = ModelBuilder(opset: 21)
        then.constant("a", f32([1, 2], [2]))
        then.node("Identity", ["a"], ["t"])
        then.output("t", .float32)
        var otherwise = ModelBuilder(opset: 21)
        otherwise.constant("b", f32([7, 8, 9], [3]))
        otherwise.node("Identity", ["b"], ["e"])
        otherwise.output("e", .float32)
        var b = ModelBuilder(opset: 21)
        b.input("cond", .bool, [.fixed(1)])
        b.node("If", ["cond"], ["y"], [attr("then_branch", then.graph), attr("else_branch", otherwise.graph)])
        b.node("Relu", ["y"], ["z"])
        b.output("z", .float32)
        let session = try InferenceSession(model: b.load())
        XCTAssertEqual(try session.run([Tensor([true], shape: [1])])[0].array(Float.self), [1, 2])
        XCTAssertEqual(try session.run([Tensor([false], shape: [1])])[0].array(Float.self), [7, 8, 9])
    }

    /// A loop-carried vector grows by one element per iteration (Concat); the scan output stacks i * outer step;
    /// the condition turns false once the sum reaches a threshold.
    func testLoopWithGrowingCarriedValueScanOutputAndCondition() throws {
        var body = ModelBuilder(opset: 21)
        body.untypedInput("i")
        body.untypedInput("c_in")
        body.untypedInput("acc")
        body.node("Cast", ["i"], ["fi"], [attr("to", 1)])
        body.node("Unsqueeze", ["fi", "zero"], ["fi1"])
        body.constant("zero", Tensor([Int64(0)], shape: [1]))
        body.node("Concat", ["acc", "fi1"], ["acc_out"], [attr("axis", 0)])
        body.node("Mul", ["fi", "step"], ["scan"])
        body.node("ReduceSum", ["acc_out"], ["total"], [attr("keepdims", 0)])
        body.node("Less", ["total", "limit"], ["c_out"])
        body.output("c_out", .bool)
        body.output("acc_out", .float32)
        body.output("scan", .float32)
        var b = ModelBuilder(opset: 21)
        b.input("M", .int64, [])
        b.input("acc0", .float32, [.symbol("k")])
        b.input("limit", .float32, [])
        b.constant("step", f32([0.5], []))
        b.constant("yes", Tensor([true], shape: []))
        b.node("Loop", ["M", "yes", "acc0"], ["acc_final", "scans"], [attr("body", body.graph)])
        b.output("acc_final", .float32)
        b.output("scans", .float32)
        let session = try InferenceSession(model: b.load())
        for (m, limit, start) in [(Int64(10), Float(1000), [Float]()), (10, 5, [1]), (0, 1000, [4, 5]), (3, 1000, [2])] {
            var acc = start, scans = [Float](), go = true, i: Int64 = 0
            while go && i < m {
                acc.append(Float(i)); scans.append(Float(i) * 0.5)
                go = acc.reduce(0, +) < limit
                i += 1
            }
            let outs = try session.run([.scalar(m), f32(start, [start.count]), .scalar(limit)])
            XCTAssertEqual(outs[0].array(Float.self), acc, "M=\(m) limit=\(limit)")
            XCTAssertEqual(outs[1].shape, [scans.count], "M=\(m) limit=\(limit)")
            XCTAssertEqual(outs[1].array(Float.self), scans, "M=\(m) limit=\(limit)")
        }
    }

    /// An If inside a Loop body reads a value of the main graph two scopes out.
    func testNestedBodiesCaptureAcrossScopes() throws {
        var then = ModelBuilder(opset: 21)
        then.node("Add", ["s", "bonus"], ["t"])
        then.output("t", .float32)
        var otherwise = ModelBuilder(opset: 21)
        otherwise.node("Identity", ["s"], ["e"])
        otherwise.output("e", .float32)
        var body = ModelBuilder(opset: 21)
        body.untypedInput("i")
        body.untypedInput("c")
        body.untypedInput("s")
        body.constant("two", Tensor([Int64(2)], shape: []))
        body.constant("zero", Tensor([Int64(0)], shape: []))
        body.node("Mod", ["i", "two"], ["r"])
        body.node("Equal", ["r", "zero"], ["even"])
        body.node("If", ["even"], ["s_out"], [attr("then_branch", then.graph), attr("else_branch", otherwise.graph)])
        body.node("Identity", ["c"], ["c_out"])
        body.output("c_out", .bool)
        body.output("s_out", .float32)
        var b = ModelBuilder(opset: 21)
        b.input("M", .int64, [])
        b.input("bonus", .float32, [.fixed(2)])
        b.constant("yes", Tensor([true], shape: []))
        b.constant("s0", f32([0, 0], [2]))
        b.node("Loop", ["M", "yes", "s0"], ["s"], [attr("body", body.graph)])
        b.output("s", .float32)
        let session = try InferenceSession(model: b.load())
        let out = try session.run([.scalar(Int64(5)), f32([1, 10], [2])])[0]
        XCTAssertEqual(out.array(Float.self), [3, 30])  // iterations 0, 2, 4 add the bonus
    }

    /// Scan with two states, a reversed scan input along axis 1 and a scan output stacked along axis 1 in reverse.
    func testScanAxesAndDirections() throws {
        var body = ModelBuilder(opset: 21)
        body.untypedInput("sum")
        body.untypedInput("count")
        body.untypedInput("row")  // one column of x: [rows]
        body.node("Add", ["sum", "row"], ["sum_out"])
        body.node("Add", ["count", "one"], ["count_out"])
        body.constant("one", f32([1], []))
        body.node("Mul", ["row", "count"], ["scaled"])
        body.output("sum_out", .float32)
        body.output("count_out", .float32)
        body.output("scaled", .float32)
        var b = ModelBuilder(opset: 21)
        b.input("sum0", .float32, [.fixed(3)])
        b.input("x", .float32, [.fixed(3), .symbol("cols")])
        b.constant("count0", f32([0], []))
        b.node("Scan", ["sum0", "count0", "x"], ["sum", "count", "ys"],
               [attr("body", body.graph), attr("num_scan_inputs", 1), attr("scan_input_axes", [1]),
                attr("scan_input_directions", [1]), attr("scan_output_axes", [-1]), attr("scan_output_directions", [1])])
        b.output("sum", .float32)
        b.output("count", .float32)
        b.output("ys", .float32)
        let session = try InferenceSession(model: b.load())
        let cols = 4
        let x = (0..<(3 * cols)).map { Float($0) }
        let outs = try session.run([f32([1, 1, 1], [3]), f32(x, [3, cols])])
        // Iteration t reads column cols-1-t with count t; its output lands at column cols-1-t.
        var sum: [Float] = [1, 1, 1]
        var ys = [Float](repeating: 0, count: 3 * cols)
        for t in 0..<cols {
            let c = cols - 1 - t
            for r in 0..<3 { sum[r] += x[r * cols + c]; ys[r * cols + c] = x[r * cols + c] * Float(t) }
        }
        XCTAssertEqual(outs[0].array(Float.self), sum)
        XCTAssertEqual(outs[1].array(Float.self), [Float(cols)])
        XCTAssertEqual(outs[2].shape, [3, cols])
        XCTAssertEqual(outs[2].array(Float.self), ys)
    }

    func testLoopWithoutTripCountOrConditionIsRejected() {
        var body = ModelBuilder(opset: 21)
        body.untypedInput("i")
        body.untypedInput("c")
        body.node("Identity", ["c"], ["c_out"])
        body.output("c_out", .bool)
        var b = ModelBuilder(opset: 21)
        b.input("x", .float32, [.fixed(1)])
        b.node("Loop", ["", ""], [], [attr("body", body.graph)])
        b.node("Relu", ["x"], ["y"])
        b.output("y", .float32)
        XCTAssertThrowsError(try b.load()) { XCTAssertTrue("\($0)".contains("never ends"), "\($0)") }
    }

    /// A Loop stopped by cancel from another thread returns DLINFER cancelled instead of running to its end.
    func testCancelStopsALongLoop() throws {
        var body = ModelBuilder(opset: 21)
        body.untypedInput("i")
        body.untypedInput("c")
        body.untypedInput("v")
        body.node("Identity", ["c"], ["c_out"])
        body.node("Add", ["v", "v"], ["v_out"])
        body.output("c_out", .bool)
        body.output("v_out", .float32)
        var b = ModelBuilder(opset: 21)
        b.input("v0", .float32, [.fixed(1024)])
        b.constant("M", Tensor([Int64.max], shape: []))
        b.node("Loop", ["M", "", "v0"], ["v"], [attr("body", body.graph)])
        b.output("v", .float32)
        let session = try InferenceSession(model: b.load())
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) { session.cancel() }
        XCTAssertThrowsError(try session.run([try! Tensor(dtype: .float32, shape: [1024])])) {
            XCTAssertEqual(($0 as? DLInferError)?.kind, .cancelled, "\($0)")
        }
    }

    /// A model-local function (as the dynamo exporter writes them) with an attribute parameter and a default.
    func testLocalFunctionsAreInlined() throws {
        var f = Onnx_FunctionProto()
        f.name = "ScaledRelu"; f.domain = "custom"
        f.input = ["x"]; f.output = ["y"]; f.attribute = ["alpha"]
        var opset = Onnx_OperatorSetIdProto(); opset.version = 21
        f.opsetImport = [opset]
        var c = Onnx_NodeProto(); c.opType = "Constant"; c.output = ["a"]
        var ref = Onnx_AttributeProto(); ref.name = "value_float"; ref.type = .float; ref.refAttrName = "alpha"
        c.attribute = [ref]
        var mul = Onnx_NodeProto(); mul.opType = "Mul"; mul.input = ["x", "a"]; mul.output = ["t"]
        var relu = Onnx_NodeProto(); relu.opType = "Relu"; relu.input = ["t"]; relu.output = ["y"]
        f.node = [c, mul, relu]
        var b = ModelBuilder(opset: 21)
        b.functions = [f]
        b.input("x", .float32, [.fixed(3)])
        b.node("ScaledRelu", ["x"], ["h"], [attr("alpha", Float(2))], domain: "custom")
        b.node("ScaledRelu", ["h"], ["y"], [attr("alpha", Float(-1))], domain: "custom")
        b.output("y", .float32)
        let y = try b.run([f32([-1, 2, 3], [3])])[0]
        XCTAssertEqual(y.array(Float.self), [0, 0, 0])  // relu(-relu(2x))
        var b2 = b
        b2.graph.node.removeLast()
        b2.graph.output[0].name = "h"
        XCTAssertEqual(try b2.run([f32([-1, 2, 3], [3])])[0].array(Float.self), [0, 4, 6])
    }

    /// Every unsupported op is named at once, with its first node and count.
    func testEveryUnsupportedOpIsNamed() {
        var b = ModelBuilder(opset: 21)
        b.input("x", .float32, [.fixed(3)])
        b.node("FancyOp", ["x"], ["a"])
        b.node("FancyOp", ["a"], ["b"])
        b.node("Relu", ["b"], ["c"])
        b.node("OtherOp", ["c"], ["y"], domain: "com.example")
        b.output("y", .float32)
        XCTAssertThrowsError(try b.load()) {
            let m = "\($0)"
            XCTAssertTrue(m.contains("2 operators"), m)
            XCTAssertTrue(m.contains("FancyOp (node 'FancyOp_0' and 1 more)"), m)
            XCTAssertTrue(m.contains("com.example.OtherOp (node 'OtherOp_3')"), m)
        }
    }
}
