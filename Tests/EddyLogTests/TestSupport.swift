import EddyCore
import EddyWire
import Foundation
import NIOCore
import XCTest
@testable import EddyLog
@_exported import EddyTestSupport

/// Time that moves only when the test moves it.
final class TestClock: @unchecked Sendable {
    var ms: Int64
    init(_ ms: Int64 = 1_700_000_000_000) { self.ms = ms }
    func advance(_ delta: Int64) { ms += delta }
    var now: () -> Int64 { { [unowned self] in self.ms } }
}

/// A fresh directory under the system's temporary directory, removed by `cleanUp`.
struct TemporaryDirectory {
    let path: String

    init(_ name: String = #function) {
        let safe = name.filter { $0.isLetter || $0.isNumber }
        path = NSTemporaryDirectory() + "eddylog-\(safe)-\(UUID().uuidString)"
    }

    /// A partition directory inside it, as the broker names them.
    var partition: String { path + "/topic-0" }

    func cleanUp() { try? FileManager.default.removeItem(atPath: path) }
}

/// A batch of `count` records with `valueSize`-byte values, timestamps from `baseTimestamp` stepping
/// by `timestampStep` (or given per record).
func makeBatch(count: Int = 3, valueSize: Int = 10, baseTimestamp: Int64 = 1_000, timestampStep: Int64 = 1,
               timestampDeltas: [Int64]? = nil, compression: CompressionCodec = .none, seed: UInt8 = 0) -> RecordBatch {
    let records = (0..<count).map { i in
        Record(key: ByteBuffer(string: "key-\(i)"),
               value: ByteBuffer(repeating: seed &+ UInt8(truncatingIfNeeded: i), count: valueSize),
               timestampDelta: timestampDeltas?[i] ?? Int64(i) * timestampStep,
               offsetDelta: Int32(i))
    }
    let bytes = try! RecordBatch.encode(records: records, baseTimestamp: Timestamp(millis: baseTimestamp), compression: compression)
    return try! RecordBatch(bytes)
}

/// The bytes the log stores for `batch` at `offset` with CreateTime: baseOffset and epoch rewritten.
func stored(_ batch: RecordBatch, at offset: Offset) -> ByteBuffer {
    var bytes = ByteBuffer(buffer: batch.bytes)
    bytes.setInteger(offset.rawValue, at: bytes.readerIndex + RecordBatchHeader.Position.baseOffset)
    bytes.setInteger(Int32(0), at: bytes.readerIndex + RecordBatchHeader.Position.partitionLeaderEpoch)
    return bytes
}

extension ByteBuffer {
    init(buffer: ByteBuffer) {
        self = ByteBufferAllocator().buffer(capacity: buffer.readableBytes)
        var copy = buffer
        self.writeBuffer(&copy)
    }

    var bytes: [UInt8] { getBytes(at: readerIndex, length: readableBytes) ?? [] }
}

/// Every batch in `records` (as returned by a read).
func batches(in records: ByteBuffer) throws -> [RecordBatch] {
    try RecordBatch.batches(in: records)
}

/// Reads the whole log from `from` to the end, one read after another.
func readAll(_ log: PartitionLog, from: Offset? = nil, maxBytes: Int = 1 << 20) throws -> [RecordBatch] {
    var offset = from ?? log.logStartOffset
    var result: [RecordBatch] = []
    while offset < log.logEndOffset {
        let read = try log.read(from: offset, maxBytes: maxBytes, minOneBatch: true)
        let found = try batches(in: read.records)
        guard let last = found.last else {
            XCTFail("read at \(offset) returned nothing before the end \(log.logEndOffset)")
            return result
        }
        result += found
        offset = last.header.nextOffset
    }
    return result
}

func assertThrowsLogError(_ code: LogError.Code, file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Void) {
    do {
        try body()
        XCTFail("expected LogError \(code)", file: file, line: line)
    } catch let error as LogError {
        XCTAssertEqual(error.code, code, "\(error)", file: file, line: line)
    } catch {
        XCTFail("expected LogError \(code), got \(error)", file: file, line: line)
    }
}

/// File helpers for tests that damage segments the way a crash or a bad disk would.
enum Files {
    static func bytes(_ path: String) -> [UInt8] {
        (try? [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))) ?? []
    }

    static func write(_ path: String, _ bytes: [UInt8]) {
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(bytes)), path)
    }

    static func truncate(_ path: String, to size: Int) {
        XCTAssertEqual(Foundation.truncate(path, off_t(size)), 0, "truncate \(path)")
    }

    static func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

    static func remove(_ path: String) { try? FileManager.default.removeItem(atPath: path) }

    static func list(_ directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
    }

    static func segmentPath(_ directory: String, _ base: Int64, _ kind: String) -> String {
        let digits = String(base)
        return directory + "/" + String(repeating: "0", count: 20 - digits.count) + digits + "." + kind
    }
}

/// A fresh partition directory and a hand-moved clock per test, and a way to open the log in it.
class LogTestCase: XCTestCase {
    var directory: TemporaryDirectory!
    var clock: TestClock!

    /// The config every `open` starts from; a test class may narrow it.
    var baseConfig: LogConfig { LogConfig() }
    var clockStartMs: Int64 { 1_700_000_000_000 }

    override func setUp() {
        directory = TemporaryDirectory(name)
        clock = TestClock(clockStartMs)
    }

    override func tearDown() {
        directory.cleanUp()
    }

    func open(_ configure: (inout LogConfig) -> Void = { _ in }) throws -> PartitionLog {
        var config = baseConfig
        configure(&config)
        return try PartitionLog.open(directory: directory.partition, config: config, now: clock.now)
    }
}
