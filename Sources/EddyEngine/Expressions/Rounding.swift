/// Integer division that rounds half away from zero, the rounding of DECIMAL rescaling, `round()` and
/// DECIMAL → BIGINT (as in Postgres's NUMERIC).
enum Rounding {
    @inline(__always)
    static func divide(_ value: Int64, by divisor: Int64) -> Int64 {
        let quotient = value / divisor, remainder = value % divisor
        // |remainder| < divisor ≤ 10^18, so doubling it cannot overflow.
        guard remainder.magnitude * 2 >= divisor.magnitude else { return quotient }
        return value < 0 ? quotient - 1 : quotient + 1
    }
}

/// Double rounding without libm: the engine links no math library, and these inline into kernel loops.
extension Rounding {
    /// 2^52: every Double of at least this magnitude is an integer.
    static let integralMagnitude = 4_503_599_627_370_496.0

    /// Round half away from zero (`2.5 → 3`, `-2.5 → -3`); NaN and ±inf pass through.
    @inline(__always)
    static func halfAwayFromZero(_ x: Double) -> Double {
        guard Swift.abs(x) < integralMagnitude else { return x }
        let whole = Double(Int64(x))  // toward zero
        let fraction = x - whole  // exact: `whole` is `x` with its fraction bits cleared
        let result = fraction >= 0.5 ? whole + 1 : (fraction <= -0.5 ? whole - 1 : whole)
        return result == 0 && x.sign == .minus ? -0.0 : result
    }

    /// Round half to even (`2.5 → 2`, `3.5 → 4`); NaN and ±inf pass through.
    @inline(__always)
    static func halfToEven(_ x: Double) -> Double {
        guard Swift.abs(x) < integralMagnitude else { return x }
        let integer = Int64(x)
        let whole = Double(integer)
        let fraction = x - whole
        let odd = integer & 1 != 0
        let result = fraction > 0.5 || (fraction == 0.5 && odd) ? whole + 1
            : (fraction < -0.5 || (fraction == -0.5 && odd) ? whole - 1 : whole)
        return result == 0 && x.sign == .minus ? -0.0 : result
    }
}
