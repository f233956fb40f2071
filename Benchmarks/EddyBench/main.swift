// EddyBench: CRC-32C, compression and record batch v2 decoding, each next to a reference measured in
// the same run (memcpy for the checksum, the C library's bare decompression for record decoding).
// Run in release mode: `make bench-wire` (swift run -c release EddyBench). Ends with one
// `BENCH <name> key=value ...` line per case so runs can be compared.
import CEddyShims
import CLZ4
import CSnappy
import CZlib
import CZstd
import EddyCore
import EddyWire
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - Measuring

/// Keeps results alive so the optimiser cannot drop the work.
nonisolated(unsafe) var blackHole = 0

/// Runs `body` (which does `units` of work per call) for at least `seconds`, `rounds` times, and
/// returns the best rate in units per second.
func rate(units: Double, seconds: Double = 0.25, rounds: Int = 3, _ body: () throws -> Int) rethrows -> Double {
    let clock = ContinuousClock()
    var best = 0.0
    _ = try body()  // warm up
    for _ in 0..<rounds {
        var calls = 0
        let start = clock.now
        var elapsed = 0.0
        repeat {
            blackHole &+= try body()
            calls += 1
            let d = clock.now - start
            elapsed = Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
        } while elapsed < seconds
        best = max(best, Double(calls) * units / elapsed)
    }
    return best
}

func fmt(_ v: Double, _ digits: Int = 2) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let r = (v * scale).rounded() / scale
    var s = "\(r)"
    if let dot = s.firstIndex(of: ".") {
        let decimals = s.distance(from: dot, to: s.endIndex) - 1
        if decimals < digits { s += String(repeating: "0", count: digits - decimals) }
    }
    return s
}

func pad(_ s: String, _ width: Int) -> String {
    s.count >= width ? s : String(repeating: " ", count: width - s.count) + s
}

var benchLines: [String] = []

// MARK: - CRC-32C against memcpy

let profiling = CommandLine.arguments.contains("--profile-decode")

let crcBytes = 1 << 20
let source = UnsafeMutableRawBufferPointer.allocate(byteCount: crcBytes, alignment: 64)
let target = UnsafeMutableRawBufferPointer.allocate(byteCount: crcBytes, alignment: 64)
var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
for i in 0..<crcBytes {
    seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
    source[i] = UInt8(truncatingIfNeeded: seed >> 33)
}
let sourceView = UnsafeRawBufferPointer(source)

let memcpyRate = profiling ? 1 : rate(units: Double(crcBytes)) {
    target.baseAddress!.copyMemory(from: source.baseAddress!, byteCount: crcBytes)
    return Int(target[crcBytes / 2])
}
let hardwareRate = profiling ? 1 : rate(units: Double(crcBytes)) { Int(CRC32C.update(0, sourceView)) }
let portableRate = profiling ? 1 : rate(units: Double(crcBytes)) { Int(CRC32C.updatePortable(0, sourceView)) }
precondition(CRC32C.update(0, sourceView) == CRC32C.updatePortable(0, sourceView))

print("CRC-32C over a 1 MiB buffer (dispatched implementation uses hardware: \(CRC32C.usesHardware))")
print("  memcpy            \(pad(fmt(memcpyRate / 1e9), 7)) GB/s")
print("  crc32c dispatched \(pad(fmt(hardwareRate / 1e9), 7)) GB/s   \(fmt(hardwareRate / memcpyRate)) × memcpy")
print("  crc32c portable   \(pad(fmt(portableRate / 1e9), 7)) GB/s   \(fmt(portableRate / memcpyRate)) × memcpy")
benchLines.append("BENCH crc32c_hardware gb_per_s=\(fmt(hardwareRate / 1e9)) memcpy_gb_per_s=\(fmt(memcpyRate / 1e9)) ratio_to_memcpy=\(fmt(hardwareRate / memcpyRate, 3)) hardware=\(CRC32C.usesHardware)")
benchLines.append("BENCH crc32c_portable gb_per_s=\(fmt(portableRate / 1e9)) memcpy_gb_per_s=\(fmt(memcpyRate / 1e9)) ratio_to_memcpy=\(fmt(portableRate / memcpyRate, 3))")

// MARK: - Record batches of 100-byte records

let recordsPerBatch = 1000
let batchCount = 32
let valueBytes = 100
let categories = ["books", "games", "garden", "music", "tools", "toys", "food", "sports"]
let countries = ["DE", "FR", "US", "JP", "BR", "IN", "GB", "NL"]

/// A JSON-looking 100-byte value, as analytics producers send (compresses like real events do).
func value(_ n: Int) -> ByteBuffer {
    var s = "{\"user_id\":\(100_000 + (n &* 7919) % 50_000),\"category\":\"\(categories[n % 8])\","
    s += "\"amount\":\((n &* 31) % 10_000 / 100).\((n &* 17) % 100),\"country\":\"\(countries[(n / 8) % 8])\",\"seq\":\(n)"
    while s.utf8.count < valueBytes - 1 { s += " " }
    s += "}"
    return ByteBuffer(string: s)
}

func makeBatch(_ b: Int, _ codec: CompressionCodec) throws -> RecordBatch {
    var records: [Record] = []
    records.reserveCapacity(recordsPerBatch)
    for i in 0..<recordsPerBatch {
        let n = b * recordsPerBatch + i
        records.append(Record(key: ByteBuffer(string: "user-\(n % 50_000)"), value: value(n),
                              timestampDelta: Int64(i / 10), offsetDelta: Int32(i)))
    }
    let bytes = try RecordBatch.encode(records: records, baseOffset: Offset(Int64(b * recordsPerBatch)),
                                       baseTimestamp: Timestamp(millis: 1_700_000_000_000), compression: codec)
    return try RecordBatch(bytes)
}

/// Decompresses with the C library alone, into a buffer allocated once: the floor that record
/// decoding of a compressed batch cannot beat.
final class BareDecompressor {
    let codec: CompressionCodec
    let output: UnsafeMutableRawBufferPointer
    let zstd = ZSTD_createDCtx()
    var lz4: OpaquePointer?
    let zlib = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)

    init(_ codec: CompressionCodec, capacity: Int) {
        self.codec = codec
        output = .allocate(byteCount: capacity, alignment: 64)
        _ = LZ4F_createDecompressionContext(&lz4, UInt32(LZ4F_VERSION))
        zlib.initialize(to: z_stream())
        _ = inflateInit2_(zlib, 15 + 32, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
    }

    /// Returns the decompressed size.
    func run(_ payload: ByteBuffer) -> Int {
        payload.withUnsafeReadableBytes { src in
            switch codec {
            case .none:
                return src.count
            case .zstd:
                return ZSTD_decompressDCtx(zstd, output.baseAddress, output.count, src.baseAddress, src.count)
            case .lz4:
                LZ4F_resetDecompressionContext(lz4)
                var produced = output.count
                var consumed = src.count
                _ = LZ4F_decompress(lz4, output.baseAddress, &produced, src.baseAddress, &consumed, nil)
                return produced
            case .gzip:
                inflateReset(zlib)
                zlib.pointee.next_in = UnsafeMutablePointer(mutating: src.baseAddress!.assumingMemoryBound(to: Bytef.self))
                zlib.pointee.avail_in = uInt(src.count)
                zlib.pointee.next_out = output.baseAddress!.assumingMemoryBound(to: Bytef.self)
                zlib.pointee.avail_out = uInt(output.count)
                _ = inflate(zlib, Z_FINISH)
                return output.count - Int(zlib.pointee.avail_out)
            case .snappy:  // xerial: 16-byte header, then [int32 length][raw block]
                var at = 16
                var written = 0
                while at + 4 <= src.count {
                    let n = Int(src[at]) << 24 | Int(src[at + 1]) << 16 | Int(src[at + 2]) << 8 | Int(src[at + 3])
                    at += 4
                    var produced = output.count - written
                    _ = snappy_uncompress(src.baseAddress!.advanced(by: at).assumingMemoryBound(to: CChar.self), n,
                                          output.baseAddress!.advanced(by: written).assumingMemoryBound(to: CChar.self), &produced)
                    written += produced
                    at += n
                }
                return written
            }
        }
    }
}

// `EddyBench --profile-decode <codec>`: only decodes that codec's batches for a while, for a profiler
// (valgrind --tool=callgrind, perf record).
if let i = CommandLine.arguments.firstIndex(of: "--profile-decode"), i + 1 < CommandLine.arguments.count,
   let codec = CompressionCodec.allCases.first(where: { $0.description == CommandLine.arguments[i + 1] }) {
    let batches = try (0..<batchCount).map { try makeBatch($0, codec) }
    var n = 0
    for _ in 0..<20 {
        for batch in batches {
            try batch.validate()
            n &+= try batch.records().count
        }
    }
    print("decoded \(n) records")
    exit(0)
}

print("")
print("Record batch v2 decode: \(batchCount) batches of \(recordsPerBatch) records (8-11 byte key, \(valueBytes)-byte value)")
print("  decode = validate (CRC-32C) + decompress + decode every record into [Record]")
print("  bare decompress = the C library alone into a reused buffer (our wrapper's floor)")
print("  codec   batch KiB  ratio  decode Mrec/s  decode MB/s  decompress MB/s  decompress Mrec/s  decode/decompress  encode Mrec/s")

let totalRecords = Double(recordsPerBatch * batchCount)
for codec in CompressionCodec.allCases {
    let batches = try (0..<batchCount).map { try makeBatch($0, codec) }
    let plainSizes = try batches.map { try $0.header.compression.decompress($0.payload).readableBytes }
    let batchBytes = batches.reduce(0) { $0 + $1.bytes.readableBytes }
    let plainTotal = Double(plainSizes.reduce(0, +))
    let ratio = plainTotal / Double(batchBytes - RecordBatchHeader.size * batchCount)

    let decodeRate = try rate(units: totalRecords) {
        var n = 0
        for batch in batches {
            try batch.validate()
            let records = try batch.records()
            n &+= records.count &+ (records.last?.value?.readableBytes ?? 0)
        }
        return n
    }
    let bare = BareDecompressor(codec, capacity: plainSizes.max()! + 1024)
    let payloads = batches.map(\.payload)
    for (p, size) in zip(payloads, plainSizes) {
        precondition(bare.run(p) == size, "bare \(codec) decompression gave a wrong size")
    }
    let bareRate = rate(units: totalRecords) {
        var n = 0
        for p in payloads { n &+= bare.run(p) }
        return n
    }
    let sampleRecords = try batches[0].records()
    let encodeRate = try rate(units: Double(recordsPerBatch), seconds: 0.15) {
        try RecordBatch.encode(records: sampleRecords, baseTimestamp: Timestamp(millis: 1_700_000_000_000),
                               compression: codec).readableBytes
    }

    let bytesPerRecord = plainTotal / totalRecords
    let decodeMBs = decodeRate * bytesPerRecord / 1e6
    let bareMBs = bareRate * bytesPerRecord / 1e6
    let bareColumn = codec == .none ? "               -" : pad(fmt(bareMBs, 0), 16)
    let bareRecColumn = codec == .none ? "                 -" : pad(fmt(bareRate / 1e6), 18)
    let versus = codec == .none ? "                 -" : pad(fmt(decodeRate / bareRate, 3), 18)
    print("  \(codec.description.padding(6))\(pad(fmt(Double(batchBytes) / Double(batchCount) / 1024, 1), 10))"
        + "\(pad(fmt(ratio), 7))\(pad(fmt(decodeRate / 1e6), 15))\(pad(fmt(decodeMBs, 0), 13))"
        + " \(bareColumn) \(bareRecColumn) \(versus)\(pad(fmt(encodeRate / 1e6), 15))")
    var line = "BENCH record_batch_decode_\(codec) records_per_s=\(Int(decodeRate)) mb_per_s=\(fmt(decodeMBs, 1))"
    line += " batch_bytes=\(batchBytes / batchCount) compression_ratio=\(fmt(ratio))"
    if codec != .none {
        line += " bare_decompress_mb_per_s=\(fmt(bareMBs, 1)) bare_decompress_records_per_s=\(Int(bareRate))"
        line += " decode_to_bare_ratio=\(fmt(decodeRate / bareRate, 3))"
    }
    line += " encode_records_per_s=\(Int(encodeRate))"
    benchLines.append(line)
}

print("")
for line in benchLines { print(line) }
if blackHole == 42 { print("") }

extension String {
    func padding(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
}
