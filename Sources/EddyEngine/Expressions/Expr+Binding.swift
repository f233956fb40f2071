extension Expr {
    /// Resolves the expression against `schema`: columns become indices, every node gets a type, a
    /// nullability and a kernel, implicit conversions become explicit casts, and subtrees without columns
    /// are evaluated once here (constant folding). Mistakes in the expression are `.plan` errors that name
    /// the offending part (`unknown column "amout" (did you mean "amount"?); columns are: amount, country`,
    /// `cannot compare TEXT with BIGINT in country = 1`, `LIKE needs TEXT, found DOUBLE in …`).
    ///
    /// ## Type rules
    ///
    /// **NULL.** An untyped `NULL` literal takes the type its context needs (the other operand, the other
    /// CASE branches, the CAST target); alone it is BOOLEAN. Every operator and function returns NULL when
    /// an operand is NULL, except `IS [NOT] NULL`, AND/OR (three-valued), `concat` (skips NULLs), `coalesce`,
    /// CASE, and IN/NOT IN (see `Expr.inList`).
    ///
    /// **Arithmetic** (`+ - * / %`, unary minus, `abs`):
    /// - BIGINT ∘ BIGINT → BIGINT for `+ - * %`; overflow is an `.execution` error naming the expression
    ///   and the operands. `/` between integers is DOUBLE division (DuckDB's semantics): `7 / 2 = 3.5`.
    /// - Any DOUBLE operand → DOUBLE (the other side converted); IEEE, so overflow gives ±inf.
    /// - DECIMAL(s1) ± DECIMAL(s2) and `%` → DECIMAL(max(s1, s2)), exact (the smaller scale is widened,
    ///   checked). DECIMAL(s1) * DECIMAL(s2) → DECIMAL(s1 + s2) when s1 + s2 ≤ 18, else a `.plan` error
    ///   asking for a CAST. A BIGINT operand of a DECIMAL counts as DECIMAL(0), so DECIMAL * BIGINT keeps
    ///   the decimal's scale. DECIMAL / anything → DOUBLE. Overflow of the Int64 storage is an error.
    /// - `%` takes the sign of the dividend (`-7 % 3 = -1`), like SQL and C.
    /// - Division or modulo by zero gives NULL for every numeric type (DuckDB's and Spark's non-ANSI
    ///   behaviour), so a filter on `a / b > 1` simply drops rows with `b = 0`.
    /// - TIMESTAMP ± BIGINT (milliseconds) and BIGINT + TIMESTAMP → TIMESTAMP; TIMESTAMP − TIMESTAMP →
    ///   BIGINT milliseconds. Nothing else mixes with TIMESTAMP.
    ///
    /// **Comparisons** (`= <> < <= > >=`, IN, BETWEEN, CASE's simple form):
    /// - Numbers compare with numbers by value: BIGINT and DECIMAL of any scales exactly (no rounding, no
    ///   overflow); when either side is DOUBLE both compare as DOUBLE. NaN equals NaN and sorts above +inf.
    /// - TEXT with TEXT (byte order of UTF-8 = code point order, case-sensitive), BOOLEAN with BOOLEAN
    ///   (FALSE < TRUE), TIMESTAMP with TIMESTAMP. A TEXT *constant* compared with a TIMESTAMP is read as
    ///   ISO-8601 once, at bind time (`ts >= '2026-01-01'`); an unreadable one is a `.plan` error.
    /// - Strings never convert to numbers implicitly: `'1' = 1` is a `.plan` error; write a CAST.
    ///
    /// **Common type** of CASE branches, COALESCE arguments and IN lists: equal types stay; BIGINT with
    /// DECIMAL(s) → DECIMAL(s); DECIMALs → the largest scale; anything numeric with DOUBLE → DOUBLE
    /// (BIGINT < DECIMAL < DOUBLE). Other mixes are a `.plan` error.
    ///
    /// **Boolean logic**: AND, OR, NOT, CASE conditions and filters need BOOLEAN. AND and OR use SQL's
    /// three-valued logic. Both sides of AND/OR are evaluated for every row, except that a batch whose left
    /// side is all FALSE (AND) or all TRUE (OR) skips the right side; only CASE and COALESCE promise to
    /// evaluate a branch just for the rows that need it, so guard a failing expression with CASE.
    ///
    /// **CAST(x AS type)** (TRY_CAST: NULL instead of an error):
    /// - anything → TEXT: BIGINT as digits, DECIMAL exactly with its scale (`12.50`), DOUBLE as the
    ///   shortest text that reads back the same (`0.1`, `100.0`, `1e-05`, `inf`, `nan`), TIMESTAMP as
    ///   ISO-8601 UTC with milliseconds (`2026-11-22T04:18:27.123Z`), DATE as `2026-11-22`, BOOLEAN as
    ///   `true`/`false`.
    /// - TEXT → BIGINT, DOUBLE, DECIMAL(s), BOOLEAN (`true/false/t/f/yes/no/y/n/on/off/1/0`) and TIMESTAMP
    ///   (ISO-8601: `2026-11-22`, `2026-11-22 04:18`, `2026-11-22T04:18:27.123+01:00`, …; extra fraction
    ///   digits truncated) and DATE (`2026-11-22` only), ignoring surrounding whitespace. Text that does not convert is an `.execution`
    ///   error quoting the value. Extra decimal digits round half away from zero.
    /// - DOUBLE → BIGINT rounds half to even (Postgres and DuckDB); DOUBLE → DECIMAL rounds half away from
    ///   zero after scaling; NaN, ±inf and out-of-range values are errors.
    /// - DECIMAL → BIGINT and DECIMAL → smaller scale round half away from zero; BIGINT → DECIMAL and
    ///   DECIMAL → larger scale are checked for overflow. BIGINT/DECIMAL → DOUBLE may round.
    /// - DATE → TIMESTAMP is midnight UTC of the day; TIMESTAMP → DATE the UTC day the instant falls on.
    ///   A DATE compared with a TIMESTAMP (or given to `date_trunc`/`extract`) is converted so too.
    /// - BIGINT ↔ TIMESTAMP reinterpret epoch milliseconds (no copy). BOOLEAN → BIGINT is 1/0 and
    ///   BIGINT → BOOLEAN is `≠ 0`. Other pairs (DOUBLE ↔ BOOLEAN, TIMESTAMP ↔ DOUBLE, …) are `.plan` errors.
    ///
    /// **Strings**: LIKE, `lower`, `upper`, `trim`, `length`, `substring` need TEXT (`LIKE needs TEXT, found
    /// DOUBLE`). `length` and `substring` count Unicode scalars. `concat(…)` converts any argument to TEXT
    /// and skips NULLs (Postgres/DuckDB); `a || b` does the same conversion but is NULL when either side
    /// is, and needs at least one TEXT side.
    ///
    /// **Time**: `date_trunc` and `extract` need TIMESTAMP (UTC); `to_epoch_millis(TIMESTAMP) → BIGINT`,
    /// `from_epoch_millis(BIGINT) → TIMESTAMP`.
    public func bind(to schema: Schema) throws(EngineError) -> BoundExpr {
        let bound = try ExprBinder(schema: schema).bind(self)
        if bound.isUntypedNull {
            // A lone NULL is BOOLEAN (it behaves as "unknown" in a filter).
            return BoundExpr(type: .bool, nullable: true, node: .literal(.null), resolved: .literal(.null), reads: [], canFail: false)
        }
        return bound
    }
}
