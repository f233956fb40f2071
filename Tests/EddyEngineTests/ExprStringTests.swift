@testable import EddyEngine
import XCTest

final class ExprStringTests: XCTestCase {
    let words = RecordBatch(
        schema: Schema([Field("s", .utf8)]),
        rows: [[S("apple")], [S("pineapple")], [S("app")], [S("")], [S("Äpfel")], [S("naïve café")], [N]])

    func testLikeFastPaths() {
        assertEval(col("s").like("app%"), over: words, [B(true), B(false), B(true), B(false), B(false), B(false), N])
        assertEval(col("s").like("%apple"), over: words, [B(true), B(true), B(false), B(false), B(false), B(false), N])
        assertEval(col("s").like("%pl%"), over: words, [B(true), B(true), B(false), B(false), B(false), B(false), N])
        assertEval(col("s").like("app"), over: words, [B(false), B(false), B(true), B(false), B(false), B(false), N])
        assertEval(col("s").like("%"), over: words, [B(true), B(true), B(true), B(true), B(true), B(true), N])
        assertEval(col("s").like(""), over: words, [B(false), B(false), B(false), B(true), B(false), B(false), N])
        assertEval(col("s").like("%%é"), over: words, [B(false), B(false), B(false), B(false), B(false), B(true), N])
        assertEval(col("s").notLike("%app%"), over: words, [B(false), B(false), B(false), B(true), B(true), B(true), N])
    }

    func testLikeGeneralWithUnderscoresAndMultibyteCharacters() {
        assertEval(col("s").like("_pple"), over: words, [B(true), B(false), B(false), B(false), B(false), B(false), N])
        // `_` is one character, even when it is two bytes.
        assertEval(col("s").like("_pfel"), over: words, [B(false), B(false), B(false), B(false), B(true), B(false), N])
        assertEval(col("s").like("na_ve caf_"), over: words, [B(false), B(false), B(false), B(false), B(false), B(true), N])
        assertEval(col("s").like("%a_e"), over: words, [B(false), B(false), B(false), B(false), B(false), B(false), N])
        assertEval(col("s").like("p%a%e"), over: words, [B(false), B(true), B(false), B(false), B(false), B(false), N])
        assertEval(col("s").like("%p_e"), over: words, [B(true), B(true), B(false), B(false), B(false), B(false), N])
        assertEval(col("s").like("%pl_"), over: words, [B(true), B(true), B(false), B(false), B(false), B(false), N])
        assertEval(col("s").like("___"), over: words, [B(false), B(false), B(true), B(false), B(false), B(false), N])
        assertEval(col("s").like("%ï%é"), over: words, [B(false), B(false), B(false), B(false), B(false), B(true), N])
        // Backtracking: the first `a` is not the one that matches.
        let tricky = batch("s", .utf8, [S("aaab"), S("abab"), S("ab"), S("aXbYb")])
        assertEval(col("s").like("%ab"), over: tricky, [B(true), B(true), B(true), B(false)])
        assertEval(col("s").like("a%b%b"), over: tricky, [B(false), B(true), B(false), B(true)])
        assertEval(col("s").like("%a_b"), over: tricky, [B(true), B(false), B(false), B(false)])
    }

    func testLikeEscapes() {
        let text = batch("s", .utf8, [S("100%"), S("100x"), S("a_b"), S("axb"), S("c\\d"), S("é%")])
        assertEval(col("s").like("100!%", escape: "!"), over: text, [B(true), B(false), B(false), B(false), B(false), B(false)])
        assertEval(col("s").like("%!_%", escape: "!"), over: text, [B(false), B(false), B(true), B(false), B(false), B(false)])
        assertEval(col("s").like("c\\\\d", escape: "\\"), over: text, [B(false), B(false), B(false), B(false), B(true), B(false)])
        // Without an escape character, a backslash is an ordinary character.
        assertEval(col("s").like("c\\d"), over: text, [B(false), B(false), B(false), B(false), B(true), B(false)])
        // A multibyte escape character.
        assertEval(col("s").like("_§%", escape: "§"), over: text, [B(false), B(false), B(false), B(false), B(false), B(true)])
        assertPlanError(col("s").like("abc!", escape: "!"), text.schema, contains: "ends with its escape character")
        // A pattern per row.
        let patterns = batch(("s", .utf8), ("p", .utf8), [(S("abc"), S("a%")), (S("abc"), S("_c")), (S("x"), N), (S("a%"), S("a!%"))])
        assertEval(.like(col("s"), pattern: col("p"), escape: "!", negated: false), over: patterns, [B(true), B(false), N, B(true)])
        assertPlanError(lit(1.5).like("1%"), Schema([]), contains: "LIKE needs TEXT, found DOUBLE")
    }

    func testLowerUpper() {
        assertEval(col("s").upper(), over: words, [S("APPLE"), S("PINEAPPLE"), S("APP"), S(""), S("ÄPFEL"), S("NAÏVE CAFÉ"), N])
        assertEval(col("s").lower(), over: words, [S("apple"), S("pineapple"), S("app"), S(""), S("äpfel"), S("naïve café"), N])
        // An all-ASCII batch keeps its offsets and maps bytes.
        let ascii = batch("s", .utf8, [S("MiXeD 123"), N, S("z")])
        assertEval(col("s").lower(), over: ascii, [S("mixed 123"), N, S("z")])
        assertEval(col("s").upper(), over: ascii, [S("MIXED 123"), N, S("Z")])
        // Unicode case mapping can change the length: ß uppercases to SS.
        assertEval(col("s").upper(), over: batch("s", .utf8, [S("straße"), S("ok")]), [S("STRASSE"), S("OK")])
    }

    func testLengthCountsUnicodeScalars() {
        assertEval(col("s").length(), over: words, [I(5), I(9), I(3), I(0), I(5), I(10), N], type: .int64)
        // e + combining acute accent is two scalars; an emoji is one.
        assertEval(col("s").length(), over: batch("s", .utf8, [S("e\u{301}"), S("👍"), S("ab")]), [I(2), I(1), I(2)])
    }

    func testSubstring() {
        let hello = batch("s", .utf8, [S("hello"), S("héllo wörld"), S(""), N])
        assertEval(col("s").substring(from: 2, length: 3), over: hello, [S("ell"), S("éll"), S(""), N])
        assertEval(col("s").substring(from: 2), over: hello, [S("ello"), S("éllo wörld"), S(""), N])
        // A start at or before 0 counts the positions before the string.
        assertEval(col("s").substring(from: 0, length: 3), over: hello, [S("he"), S("hé"), S(""), N])
        assertEval(col("s").substring(from: -3, length: 5), over: hello, [S("h"), S("h"), S(""), N])
        assertEval(col("s").substring(from: -3), over: hello, [S("hello"), S("héllo wörld"), S(""), N])
        // Past the end is empty; a zero length is empty.
        assertEval(col("s").substring(from: 10), over: hello, [S(""), S("ld"), S(""), N])
        assertEval(col("s").substring(from: 99, length: 2), over: hello, [S(""), S(""), S(""), N])
        assertEval(col("s").substring(from: 1, length: 0), over: hello, [S(""), S(""), S(""), N])
        assertEval(col("s").substring(from: 8, length: 100), over: hello, [S(""), S("örld"), S(""), N])
        assertEval(col("s").substring(from: 1, length: Int(Int64.max)), over: hello, [S("hello"), S("héllo wörld"), S(""), N])
        assertPlanError(col("s").substring(from: 1, length: -1), hello.schema, contains: "negative substring length -1")
        // Start and length from columns; a negative length at run time is an execution error.
        let args = RecordBatch(
            schema: Schema([Field("s", .utf8), Field("a", .int64), Field("n", .int64)]),
            rows: [[S("abcdef"), I(2), I(2)], [S("abcdef"), N, I(1)], [S("abcdef"), I(4), N], [S("xyz"), I(3), I(5)]])
        assertEval(.function(.substring, [col("s"), col("a"), col("n")]), over: args, [S("bc"), N, N, S("z")])
        let negative = RecordBatch(schema: args.schema, rows: [[S("abc"), I(1), I(-2)]])
        assertExecutionError(.function(.substring, [col("s"), col("a"), col("n")]), over: negative, contains: "negative substring length -2")
        assertConstant(.function(.substring, [lit("Straße"), lit(5)]), S("ße"))
        assertPlanError(.function(.substring, [col("s")]), hello.schema, contains: "substring takes 2 to 3 arguments, got 1")
    }

    func testTrim() {
        let padded = batch("s", .utf8, [S("  a b  "), S("   "), S("x"), S(" é "), N])
        assertEval(col("s").trim(), over: padded, [S("a b"), S(""), S("x"), S("é"), N])
        assertEval(col("s").ltrim(), over: padded, [S("a b  "), S(""), S("x"), S("é "), N])
        assertEval(col("s").rtrim(), over: padded, [S("  a b"), S(""), S("x"), S(" é"), N])
        let custom = batch("s", .utf8, [S("xxhixx"), S("éhié"), S("hi")])
        assertEval(.function(.trim, [col("s"), lit("xé")]), over: custom, [S("hi"), S("hi"), S("hi")])
        assertEval(.function(.rtrim, [col("s"), lit("x")]), over: custom, [S("xxhi"), S("éhié"), S("hi")])
        assertPlanError(.function(.trim, [col("s"), col("s")]), custom.schema, contains: "trim characters must be a constant")
    }

    func testConcatSkipsNullsButPipesPropagateThem() {
        let parts = RecordBatch(
            schema: Schema([Field("a", .utf8), Field("b", .utf8), Field("n", .int64)]),
            rows: [[S("x"), S("y"), I(1)], [S("x"), N, I(2)], [N, N, N]])
        assertEval(Expr.concat(col("a"), lit("-"), col("b")), over: parts, [S("x-y"), S("x-"), S("-")], type: .utf8)
        assertEval(Expr.concat(col("a"), col("n")), over: parts, [S("x1"), S("x2"), S("")])
        assertEval(col("a").concatenated(with: col("b")), over: parts, [S("xy"), N, N])
        assertEval(col("a").concatenated(with: col("n")), over: parts, [S("x1"), S("x2"), N])
        assertEval(lit("#").concatenated(with: col("n")), over: parts, [S("#1"), S("#2"), N])
        assertPlanError(col("n").concatenated(with: col("n")), parts.schema, contains: "|| needs a TEXT operand")
        XCTAssertFalse(try Expr.concat(col("a"), col("b")).bind(to: parts.schema).nullable)
    }

    func testStringFunctionsNeedText() {
        let schema = Schema([Field("n", .int64)])
        assertPlanError(col("n").lower(), schema, contains: "lower needs TEXT, found BIGINT")
        assertPlanError(col("n").length(), schema, contains: "length needs TEXT")
        assertPlanError(col("n").trim(), schema, contains: "trim needs TEXT")
    }
}
