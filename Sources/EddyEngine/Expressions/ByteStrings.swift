/// Byte-string comparison on raw UTF-8. Byte order of UTF-8 is code-point order, which is how TEXT sorts.
enum ByteStrings {
    /// `a == b` for two byte runs.
    @inline(__always)
    static func equal(_ a: UnsafePointer<UInt8>, _ aLength: Int, _ b: UnsafePointer<UInt8>, _ bLength: Int) -> Bool {
        guard aLength == bLength else { return false }
        return prefixEqual(a, b, aLength)
    }

    /// Whether the first `length` bytes at `a` and `b` are equal, eight at a time.
    @inline(__always)
    static func prefixEqual(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ length: Int) -> Bool {
        var index = 0
        while index + 8 <= length {
            let x = UnsafeRawPointer(a + index).loadUnaligned(as: UInt64.self)
            let y = UnsafeRawPointer(b + index).loadUnaligned(as: UInt64.self)
            if x != y { return false }
            index += 8
        }
        while index < length {
            if a[index] != b[index] { return false }
            index += 1
        }
        return true
    }

    /// Three-way comparison: -1, 0 or 1.
    @inline(__always)
    static func order(_ a: UnsafePointer<UInt8>, _ aLength: Int, _ b: UnsafePointer<UInt8>, _ bLength: Int) -> Int {
        let common = min(aLength, bLength)
        var index = 0
        while index + 8 <= common {
            let x = UnsafeRawPointer(a + index).loadUnaligned(as: UInt64.self)
            let y = UnsafeRawPointer(b + index).loadUnaligned(as: UInt64.self)
            if x != y {
                // Big-endian order of the words is the byte order of the strings.
                return x.bigEndian < y.bigEndian ? -1 : 1
            }
            index += 8
        }
        while index < common {
            if a[index] != b[index] { return a[index] < b[index] ? -1 : 1 }
            index += 1
        }
        return aLength == bLength ? 0 : (aLength < bLength ? -1 : 1)
    }

    /// The first index of `needle` in `haystack`, or nil.
    @inline(__always)
    static func firstIndex(
        of needle: UnsafePointer<UInt8>, _ needleLength: Int, in haystack: UnsafePointer<UInt8>, _ haystackLength: Int,
        from start: Int = 0
    ) -> Int? {
        guard needleLength > 0 else { return start <= haystackLength ? start : nil }
        guard haystackLength - start >= needleLength else { return nil }
        let first = needle[0]
        let last = haystackLength - needleLength
        var index = start
        while index <= last {
            if haystack[index] == first && prefixEqual(haystack + index + 1, needle + 1, needleLength - 1) {
                return index
            }
            index += 1
        }
        return nil
    }
}
