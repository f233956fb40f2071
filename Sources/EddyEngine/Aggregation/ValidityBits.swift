/// Reads validity bitmaps as raw words in hot loops: taking `Bitmap.words` once per column and testing
/// bits here avoids a `Bitmap` subscript (and its bounds check on the struct) per row.
enum ValidityBits {
    /// Whether bit `row` of `words` is set (the value at `row` is present).
    @inline(__always)
    static func isSet(_ words: [UInt64], _ row: Int) -> Bool {
        words[row &>> 6] &>> UInt64(row & 63) & 1 != 0
    }

    /// A validity bitmap from per-row presence, or nil when every value is present (the `Column`
    /// convention: no bitmap means no nulls).
    static func bitmap(_ present: [Bool]) -> Bitmap? {
        if !present.contains(false) { return nil }
        return Bitmap(present)
    }
}
