/// Raw access to a string column's buffers for kernels: one pointer to all bytes and the offsets, so loops
/// index memory directly instead of slicing arrays per row.
extension Utf8Values {
    /// Calls `body` with the byte buffer and the offsets. The byte pointer is valid even when there are no
    /// bytes (then every value is empty and nothing is read through it).
    @inline(__always)
    func withUnsafeAccess<R>(_ body: (UnsafePointer<UInt8>, UnsafeBufferPointer<Int32>) -> R) -> R {
        offsets.withUnsafeBufferPointer { offsets in
            bytes.withUnsafeBufferPointer { bytes in
                body(bytes.baseAddress ?? Utf8Values.emptyBytes, offsets)
            }
        }
    }

    /// Stands in for the base address of an empty byte buffer; never dereferenced.
    nonisolated(unsafe) static let emptyBytes = UnsafePointer<UInt8>(UnsafeMutablePointer<UInt8>.allocate(capacity: 8))
}
