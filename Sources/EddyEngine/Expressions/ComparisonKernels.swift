/// The vectorised kernels of `= <> < <= > >=`, producing packed three-valued booleans.
///
/// The binder reduces every comparison to one of four domains (`Domain`); the operator becomes a generic
/// parameter so each (domain, shape) loop is specialised and writes 64 result bits per word with no call
/// per row. A scalar on the left is moved to the right by flipping the operator. DECIMALs of different
/// scales compare exactly: against a scalar, the scalar is rescaled to the column's scale once per batch
/// (rounding the bound the right way, or deciding the whole batch when it is out of range); two columns
/// of different scales use a per-row widening that treats overflow as "beyond every Int64".
///
/// Doubles compare as in Postgres and DuckDB: NaN equals NaN and is greater than every other value
/// (including +inf), so `x = x` holds for every non-NULL row and sorting is total.
enum ComparisonKernels {
    enum Domain: Sendable, Hashable {
        /// Int64 storage: BIGINT, TIMESTAMP, DECIMAL; the scales are the decimal scales (0 otherwise).
        case int64(lhsScale: Int, rhsScale: Int)
        case double
        /// UTF-8 bytes, compared in byte (= code point) order.
        case bytes
        /// Packed booleans, FALSE < TRUE.
        case bool

        var flipped: Domain {
            if case .int64(let l, let r) = self { return .int64(lhsScale: r, rhsScale: l) }
            return self
        }
    }

    /// `lhs op rhs` for `count` rows. At most one side may be a scalar.
    static func compare(_ op: ComparisonOperator, _ domain: Domain, _ lhs: Datum, _ rhs: Datum, count: Int) -> BoolVector {
        if case .scalar(let value) = lhs, value.isNull { return .constant(nil, count: count) }
        if case .scalar(let value) = rhs, value.isNull { return .constant(nil, count: count) }
        if case .scalar(let value) = lhs {
            guard rhs.isScalar else { return compare(op.flipped, domain.flipped, rhs, lhs, count: count) }
            // Two scalars (BETWEEN or IN with a constant probe): compare once on a one-row column.
            let one = Datum.column(Datum.broadcast(value, type: value.type!, count: 1))
            return .constant(compare(op, domain, one, rhs, count: 1).value(at: 0).boolValue, count: count)
        }
        if domain == .bool { return compareBits(op, lhs.bits(count: count), rhs.bits(count: count)) }

        var op = op
        var rhs = rhs
        if case .int64(let columnScale, let scalarScale) = domain, columnScale != scalarScale, case .scalar(let value) = rhs {
            switch rescale(op, value.int64Storage, from: scalarScale, to: columnScale) {
            case .compare(let newOp, let newValue):
                op = newOp
                rhs = .scalar(.int64(newValue))
            case .constant(let result):
                let validity = lhs.validityWords(count: count)
                return BoolVector(values: result ? BitWords.ones(count) : BitWords.zeros(count), validity: validity, count: count)
            }
        }
        let values: [UInt64]
        switch op {
        case .equal: values = kernel(EqualTo.self, op, domain, lhs, rhs, count: count)
        case .notEqual: values = kernel(NotEqualTo.self, op, domain, lhs, rhs, count: count)
        case .less: values = kernel(LessThan.self, op, domain, lhs, rhs, count: count)
        case .lessOrEqual: values = kernel(LessThanOrEqual.self, op, domain, lhs, rhs, count: count)
        case .greater: values = kernel(GreaterThan.self, op, domain, lhs, rhs, count: count)
        case .greaterOrEqual: values = kernel(GreaterThanOrEqual.self, op, domain, lhs, rhs, count: count)
        }
        let validity = BitWords.and(lhs.validityWords(count: count), rhs.validityWords(count: count))
        return BoolVector(values: values, validity: validity, count: count)
    }

    /// The comparison bits (ignoring NULLs, which the caller masks) for one operator.
    private static func kernel<P: ComparisonPredicate>(
        _: P.Type, _ op: ComparisonOperator, _ domain: Domain, _ lhs: Datum, _ rhs: Datum, count: Int
    ) -> [UInt64] {
        switch (domain, lhs, rhs) {
        case (.int64(let lhsScale, let rhsScale), .column(let a), .column(let b)):
            return a.int64s.withUnsafeBufferPointer { a in
                b.int64s.withUnsafeBufferPointer { b in
                    if lhsScale == rhsScale { return BitWords.pack(count) { P.int(a[$0], b[$0]) } }
                    if lhsScale < rhsScale {
                        let factor = powersOfTen[rhsScale - lhsScale]
                        return BitWords.pack(count) { P.int(Int64(scaledOrder(a[$0], factor, b[$0])), 0) }
                    }
                    let factor = powersOfTen[lhsScale - rhsScale]
                    return BitWords.pack(count) { P.int(0, Int64(scaledOrder(b[$0], factor, a[$0]))) }
                }
            }
        case (.int64, .column(let a), .scalar(let s)):
            // Scales were aligned by `rescale` above.
            let b = s.int64Storage
            return a.int64s.withUnsafeBufferPointer { a in BitWords.pack(count) { P.int(a[$0], b) } }
        case (.double, .column(let a), .column(let b)):
            return a.float64s.withUnsafeBufferPointer { a in
                b.float64s.withUnsafeBufferPointer { b in BitWords.pack(count) { P.double(a[$0], b[$0]) } }
            }
        case (.double, .column(let a), .scalar(let s)):
            let b = s.doubleValue
            return a.float64s.withUnsafeBufferPointer { a in BitWords.pack(count) { P.double(a[$0], b) } }
        case (.bytes, .column(let a), .column(let b)):
            return a.utf8.withUnsafeAccess { aBytes, aOffsets in
                b.utf8.withUnsafeAccess { bBytes, bOffsets in
                    let pair = BytePair(aBytes: aBytes, aOffsets: aOffsets.baseAddress!, bBytes: bBytes, bOffsets: bOffsets.baseAddress!)
                    if op == .equal || op == .notEqual {
                        return BitWords.pack(count, BytesEqual(pair: pair, wanted: op == .equal))
                    }
                    return BitWords.pack(count, BytesOrder<P>(pair: pair))
                }
            }
        case (.bytes, .column(let a), .scalar(let s)):
            let needle = s.utf8Bytes
            return a.utf8.withUnsafeAccess { bytes, offsets in
                needle.withUnsafeBufferPointer { needle in
                    let scalar = ByteScalar(bytes: bytes, offsets: offsets.baseAddress!, needle: needle.baseAddress ?? Utf8Values.emptyBytes, needleLength: needle.count)
                    if op == .equal || op == .notEqual {
                        return BitWords.pack(count, BytesEqualScalar(scalar: scalar, wanted: op == .equal))
                    }
                    return BitWords.pack(count, BytesOrderScalar<P>(scalar: scalar))
                }
            }
        default:
            preconditionFailure("comparison of \(lhs) and \(rhs) in domain \(domain)")
        }
    }

    /// Compares `a * factor` with `b` exactly: a product that overflows is beyond every Int64 in `a`'s
    /// direction.
    @inline(__always)
    private static func scaledOrder(_ a: Int64, _ factor: Int64, _ b: Int64) -> Int {
        let (scaled, overflow) = a.multipliedReportingOverflow(by: factor)
        if overflow { return a < 0 ? -1 : 1 }
        return scaled < b ? -1 : (scaled == b ? 0 : 1)
    }

    enum Rescaled: Equatable {
        case compare(ComparisonOperator, Int64)
        case constant(Bool)
    }

    /// Rewrites `column op scalar`, where the scalar has another decimal scale, as a comparison at the
    /// column's scale. Scaling the scalar up may overflow, and then every column value is on one side of it;
    /// scaling it down may leave a fraction, and then the bound rounds in the direction that keeps the
    /// comparison exact (`x < 1.5` on integers is `x <= 1`).
    static func rescale(_ op: ComparisonOperator, _ value: Int64, from scalarScale: Int, to columnScale: Int) -> Rescaled {
        if scalarScale < columnScale {
            let (scaled, overflow) = value.multipliedReportingOverflow(by: powersOfTen[columnScale - scalarScale])
            if !overflow { return .compare(op, scaled) }
            // |scalar| exceeds every column value: the column is below a huge positive scalar, above a negative one.
            return .constant(op.holds(order: value > 0 ? -1 : 1))
        }
        let (quotient, remainder) = floorDivMod(value, powersOfTen[scalarScale - columnScale])
        if remainder == 0 { return .compare(op, quotient) }
        // quotient < scalar < quotient + 1, and the column holds whole units at its scale.
        switch op {
        case .equal: return .constant(false)
        case .notEqual: return .constant(true)
        case .less, .lessOrEqual: return .compare(.lessOrEqual, quotient)
        case .greater, .greaterOrEqual: return .compare(.greater, quotient)
        }
    }

    /// BOOLEAN comparisons, word-wise on the packed bits.
    private static func compareBits(_ op: ComparisonOperator, _ a: BoolVector, _ b: BoolVector) -> BoolVector {
        let values: [UInt64]
        switch op {
        case .equal: values = BitWords.zip(a.values, b.values) { ~($0 ^ $1) }
        case .notEqual: values = BitWords.zip(a.values, b.values) { $0 ^ $1 }
        case .less: values = BitWords.zip(a.values, b.values) { ~$0 & $1 }
        case .lessOrEqual: values = BitWords.zip(a.values, b.values) { ~$0 | $1 }
        case .greater: values = BitWords.zip(a.values, b.values) { $0 & ~$1 }
        case .greaterOrEqual: values = BitWords.zip(a.values, b.values) { $0 | ~$1 }
        }
        // The complements set bits of NULL rows and past the end; masking clears both.
        let validity = BitWords.and(a.validity, b.validity)
        let mask = validity ?? BitWords.ones(a.count)
        return BoolVector(canonicalValues: BitWords.and(values, mask), validity: validity, count: a.count)
    }
}

// MARK: TEXT row predicates (structs rather than nested closures, so the loops are always specialised)

/// Two string columns' raw buffers.
private struct BytePair {
    let aBytes: UnsafePointer<UInt8>, aOffsets: UnsafePointer<Int32>
    let bBytes: UnsafePointer<UInt8>, bOffsets: UnsafePointer<Int32>

    @inline(__always) func a(_ row: Int) -> (UnsafePointer<UInt8>, Int) {
        let start = Int(aOffsets[row])
        return (aBytes + start, Int(aOffsets[row + 1]) - start)
    }

    @inline(__always) func b(_ row: Int) -> (UnsafePointer<UInt8>, Int) {
        let start = Int(bOffsets[row])
        return (bBytes + start, Int(bOffsets[row + 1]) - start)
    }
}

private struct BytesEqual: RowPredicate {
    let pair: BytePair, wanted: Bool
    @inline(__always) func test(_ row: Int) -> Bool {
        let (a, aLength) = pair.a(row), (b, bLength) = pair.b(row)
        return ByteStrings.equal(a, aLength, b, bLength) == wanted
    }
}

private struct BytesOrder<P: ComparisonPredicate>: RowPredicate {
    let pair: BytePair
    @inline(__always) func test(_ row: Int) -> Bool {
        let (a, aLength) = pair.a(row), (b, bLength) = pair.b(row)
        return P.int(Int64(ByteStrings.order(a, aLength, b, bLength)), 0)
    }
}

/// A string column and one constant.
private struct ByteScalar {
    let bytes: UnsafePointer<UInt8>, offsets: UnsafePointer<Int32>
    let needle: UnsafePointer<UInt8>, needleLength: Int

    @inline(__always) func value(_ row: Int) -> (UnsafePointer<UInt8>, Int) {
        let start = Int(offsets[row])
        return (bytes + start, Int(offsets[row + 1]) - start)
    }
}

private struct BytesEqualScalar: RowPredicate {
    let scalar: ByteScalar, wanted: Bool
    @inline(__always) func test(_ row: Int) -> Bool {
        let (value, length) = scalar.value(row)
        return ByteStrings.equal(value, length, scalar.needle, scalar.needleLength) == wanted
    }
}

private struct BytesOrderScalar<P: ComparisonPredicate>: RowPredicate {
    let scalar: ByteScalar
    @inline(__always) func test(_ row: Int) -> Bool {
        let (value, length) = scalar.value(row)
        return P.int(Int64(ByteStrings.order(value, length, scalar.needle, scalar.needleLength)), 0)
    }
}

// MARK: Predicates (generic parameters, so each loop is specialised for its operator)

protocol ComparisonPredicate {
    static func int(_ a: Int64, _ b: Int64) -> Bool
    /// With NaN equal to itself and above everything else.
    static func double(_ a: Double, _ b: Double) -> Bool
}

enum EqualTo: ComparisonPredicate {
    @inline(__always) static func int(_ a: Int64, _ b: Int64) -> Bool { a == b }
    @inline(__always) static func double(_ a: Double, _ b: Double) -> Bool { a == b || (a != a && b != b) }
}

enum NotEqualTo: ComparisonPredicate {
    @inline(__always) static func int(_ a: Int64, _ b: Int64) -> Bool { a != b }
    @inline(__always) static func double(_ a: Double, _ b: Double) -> Bool { !EqualTo.double(a, b) }
}

enum LessThan: ComparisonPredicate {
    @inline(__always) static func int(_ a: Int64, _ b: Int64) -> Bool { a < b }
    @inline(__always) static func double(_ a: Double, _ b: Double) -> Bool { a < b || (a == a && b != b) }
}

enum LessThanOrEqual: ComparisonPredicate {
    @inline(__always) static func int(_ a: Int64, _ b: Int64) -> Bool { a <= b }
    @inline(__always) static func double(_ a: Double, _ b: Double) -> Bool { a <= b || b != b }
}

enum GreaterThan: ComparisonPredicate {
    @inline(__always) static func int(_ a: Int64, _ b: Int64) -> Bool { a > b }
    @inline(__always) static func double(_ a: Double, _ b: Double) -> Bool { LessThan.double(b, a) }
}

enum GreaterThanOrEqual: ComparisonPredicate {
    @inline(__always) static func int(_ a: Int64, _ b: Int64) -> Bool { a >= b }
    @inline(__always) static func double(_ a: Double, _ b: Double) -> Bool { LessThanOrEqual.double(b, a) }
}
