/// UTF-8 validation per the Unicode Standard, table 3-7 (well-formed byte sequences): no overlong
/// forms, no surrogates (U+D800...U+DFFF), nothing above U+10FFFF. ASCII runs are skipped eight bytes
/// at a time.
enum UTF8Validation {
    /// The length (2-4) of the well-formed multi-byte sequence starting at `pointer` (whose first byte
    /// is ≥ 0x80), or 0 when it is not well formed or runs past `end`.
    @inline(__always)
    static func sequenceLength(_ pointer: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>) -> Int {
        let lead = pointer.pointee
        let available = end - pointer
        @inline(__always) func isContinuation(_ byte: UInt8) -> Bool { byte & 0xC0 == 0x80 }
        switch lead {
        case 0xC2...0xDF:
            return available >= 2 && isContinuation(pointer[1]) ? 2 : 0
        case 0xE0...0xEF:
            guard available >= 3 else { return 0 }
            let second = pointer[1]
            let secondOK: Bool
            switch lead {
            case 0xE0: secondOK = (0xA0...0xBF).contains(second)
            case 0xED: secondOK = (0x80...0x9F).contains(second)
            default: secondOK = isContinuation(second)
            }
            return secondOK && isContinuation(pointer[2]) ? 3 : 0
        case 0xF0...0xF4:
            guard available >= 4 else { return 0 }
            let second = pointer[1]
            let secondOK: Bool
            switch lead {
            case 0xF0: secondOK = (0x90...0xBF).contains(second)
            case 0xF4: secondOK = (0x80...0x8F).contains(second)
            default: secondOK = isContinuation(second)
            }
            return secondOK && isContinuation(pointer[2]) && isContinuation(pointer[3]) ? 4 : 0
        default:
            return 0
        }
    }

    /// The first byte of `start..<end` that does not begin a well-formed sequence, or nil if all is valid.
    static func firstInvalid(_ start: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>) -> UnsafePointer<UInt8>? {
        var pointer = start
        while pointer < end {
            while end - pointer >= 8 {
                if SWAR.load(pointer) & SWAR.highBits != 0 { break }
                pointer += 8
            }
            guard pointer < end else { return nil }
            if pointer.pointee < 0x80 {
                pointer += 1
                continue
            }
            let length = sequenceLength(pointer, end)
            if length == 0 { return pointer }
            pointer += length
        }
        return nil
    }
}
