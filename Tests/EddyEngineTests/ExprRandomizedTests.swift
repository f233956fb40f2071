@testable import EddyEngine
import EddyTestSupport
import Foundation
import XCTest

/// Random batches with NULLs and random arithmetic / comparison / boolean expressions, evaluated by the
/// vectorised kernels and by `ReferenceEvaluator` row by row; every row must agree.
final class ExprRandomizedTests: XCTestCase {
    let schema = Schema([
        Field("i1", .int64), Field("i2", .int64), Field("f1", .float64), Field("d2", .decimal(scale: 2)),
        Field("d3", .decimal(scale: 3)), Field("b1", .bool), Field("b2", .bool), Field("s1", .utf8),
    ])

    func testVectorisedMatchesRowAtATime() throws {
        var random = SeededRandom("testVectorisedMatchesRowAtATime")
        var compared = 0, skippedErrors = 0
        for round in 0..<60 {
            let batch = randomBatch(rows: Int.random(in: 0...300, using: &random), using: &random)
            let rows = (0..<batch.count).map { index in
                Dictionary(uniqueKeysWithValues: zip(schema.names, batch.row(index)))
            }
            for _ in 0..<25 {
                let expr = random.next() % 2 == 0 ? booleanExpr(depth: 3, using: &random) : numericExpr(depth: 3, using: &random)
                guard let bound = try? expr.bind(to: schema) else { continue }  // e.g. a DECIMAL scale over 18
                var expected: [Value] = []
                var referenceFailed = false
                for row in rows {
                    do { expected.append(try ReferenceEvaluator.evaluate(expr, row: row, schema: schema)) } catch {
                        referenceFailed = true
                        break
                    }
                }
                let column: Column
                do {
                    column = try bound.evaluate(batch)
                } catch {
                    XCTAssertTrue(referenceFailed, "round \(round): \(expr) failed with \(error) but the reference did not (seed \(random.seed))")
                    continue
                }
                // The vectorised path may skip a failing right side of AND/OR for a whole batch.
                if referenceFailed {
                    skippedErrors += 1
                    continue
                }
                for (index, want) in expected.enumerated() {
                    let got = column.value(at: index)
                    if !same(got, want, type: bound.type) {
                        XCTFail("round \(round) row \(index): \(expr) gave \(got), reference \(want); row \(batch.row(index)) (seed \(random.seed))")
                        return
                    }
                }
                if bound.type == .bool {
                    let mask = try bound.evaluatePredicate(batch)
                    XCTAssertEqual((0..<mask.count).map { mask[$0] }, expected.map { $0 == .bool(true) }, "\(expr) (seed \(random.seed))")
                }
                compared += 1
            }
        }
        print("compared \(compared) expressions, \(skippedErrors) skipped after reference errors")
        XCTAssertGreaterThan(compared, 500)
    }

    /// Equal values, with NaN equal to NaN and BIGINT/DECIMAL/DOUBLE reference values converted to the
    /// bound type (the reference types a NULL-free result by its operands).
    private func same(_ got: Value, _ want: Value, type: DataType) -> Bool {
        if case .float64(let a) = got, case .float64(let b) = want, a.isNaN && b.isNaN { return true }
        return got == want
    }

    // MARK: Data

    private func randomBatch(rows: Int, using random: inout SeededRandom) -> RecordBatch {
        func maybeNull(_ value: Value) -> Value { Int.random(in: 0..<5, using: &random) == 0 ? .null : value }
        let doubles: [Double] = [0, -0.0, 0.5, -1.25, 2, 3.75, 100, -7, .nan, .infinity]
        let strings = ["", "a", "DE", "FR", "abc", "é"]
        let data: [[Value]] = (0..<rows).map { _ in
            [
                // Now and then an extreme value, so overflow errors are compared too.
                maybeNull(.int64(Int.random(in: 0..<50, using: &random) == 0
                    ? [Int64.max, Int64.min, 1 << 32, -(1 << 40)].randomElement(using: &random)!
                    : Int64.random(in: -1000...1000, using: &random))),
                maybeNull(.int64(Int64.random(in: -20...20, using: &random))),
                maybeNull(.float64(doubles.randomElement(using: &random)!)),
                maybeNull(.decimal(Int64.random(in: -100_000...100_000, using: &random), scale: 2)),
                maybeNull(.decimal(Int64.random(in: -100_000...100_000, using: &random), scale: 3)),
                maybeNull(.bool(Bool.random(using: &random))),
                maybeNull(.bool(Bool.random(using: &random))),
                maybeNull(.string(strings.randomElement(using: &random)!)),
            ]
        }
        return RecordBatch(schema: schema, rows: data)
    }

    // MARK: Expressions

    private func numericLeaf(using random: inout SeededRandom) -> Expr {
        switch Int.random(in: 0..<9, using: &random) {
        case 0, 1: col("i1")
        case 2: col("i2")
        case 3: col("f1")
        case 4: col("d2")
        case 5: col("d3")
        case 6: lit(Int64.random(in: -5...5, using: &random))
        case 7: [lit(0.5), lit(2.0), lit(-1.25), lit(0.0)].randomElement(using: &random)!
        default: [lit(decimal: "1.5"), lit(decimal: "-0.25"), lit(decimal: "0.00")].randomElement(using: &random)!
        }
    }

    /// BIGINT-only expressions (their type never depends on the data), for CASE and COALESCE branches.
    private func integerExpr(depth: Int, using random: inout SeededRandom) -> Expr {
        if depth == 0 || Int.random(in: 0..<3, using: &random) == 0 {
            return [col("i1"), col("i2"), lit(Int64.random(in: -3...3, using: &random))].randomElement(using: &random)!
        }
        let l = integerExpr(depth: depth - 1, using: &random), r = integerExpr(depth: depth - 1, using: &random)
        switch Int.random(in: 0..<6, using: &random) {
        case 0: return l + r
        case 1: return l - r
        case 2: return l * r
        case 3: return l % r
        case 4: return -l
        default: return Expr.abs(l)
        }
    }

    private func numericExpr(depth: Int, using random: inout SeededRandom) -> Expr {
        if depth == 0 || Int.random(in: 0..<4, using: &random) == 0 { return numericLeaf(using: &random) }
        let l = numericExpr(depth: depth - 1, using: &random), r = numericExpr(depth: depth - 1, using: &random)
        switch Int.random(in: 0..<10, using: &random) {
        case 0, 1: return l + r
        case 2: return l - r
        case 3, 4: return l * r
        case 5: return l / r
        case 6: return l % r
        case 7: return -l
        case 8:
            return Expr.when([(booleanExpr(depth: depth - 1, using: &random), integerExpr(depth: 2, using: &random))],
                             else: Bool.random(using: &random) ? integerExpr(depth: 1, using: &random) : nil)
        default:
            return Expr.coalesce(integerExpr(depth: 2, using: &random), integerExpr(depth: 1, using: &random))
        }
    }

    private func booleanExpr(depth: Int, using random: inout SeededRandom) -> Expr {
        if depth == 0 {
            return [col("b1"), col("b2"), lit(true), lit(false), Expr.null, col("s1") .== lit("DE")].randomElement(using: &random)!
        }
        let op = ComparisonOperator.allCases.randomElement(using: &random)!
        switch Int.random(in: 0..<11, using: &random) {
        case 0, 1, 2:
            return .comparison(op, numericExpr(depth: depth - 1, using: &random), numericExpr(depth: depth - 1, using: &random))
        case 3:
            return booleanExpr(depth: depth - 1, using: &random) && booleanExpr(depth: depth - 1, using: &random)
        case 4:
            return booleanExpr(depth: depth - 1, using: &random) || booleanExpr(depth: depth - 1, using: &random)
        case 5:
            return !booleanExpr(depth: depth - 1, using: &random)
        case 6:
            return numericExpr(depth: depth - 1, using: &random).isNull
        case 7:
            let items = (0..<Int.random(in: 1...4, using: &random)).map { _ in
                Int.random(in: 0..<6, using: &random) == 0 ? Expr.null : numericLeaf(using: &random)
            }
            return .inList(numericExpr(depth: depth - 1, using: &random), items, negated: Bool.random(using: &random))
        case 8:
            return .between(numericExpr(depth: depth - 1, using: &random), low: numericLeaf(using: &random), high: numericLeaf(using: &random), negated: Bool.random(using: &random))
        case 9:
            return .comparison(op, col("s1"), [lit("DE"), lit("abc"), lit(""), col("s1")].randomElement(using: &random)!)
        default:
            return .comparison(op, booleanExpr(depth: depth - 1, using: &random), booleanExpr(depth: 0, using: &random))
        }
    }
}
