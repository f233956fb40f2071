import EddyCore
import EddyWire
import NIOCore
import XCTest
@testable import EddyLog

final class RecoveryTests: LogTestCase {

    var segment0: String { Files.segmentPath(directory.partition, 0, "log") }

    /// Appends four batches, the last one unflushed; returns the bytes of the segment and where the
    /// last batch starts.
    func writeFourBatches() throws -> (file: [UInt8], lastStart: Int) {
        var log: PartitionLog? = try open()
        for i in 0..<3 { _ = try log!.append(makeBatch(count: 2, valueSize: 5, seed: UInt8(i))) }
        try log!.flush()
        let lastStart = Int(log!.sizeInBytes)
        _ = try log!.append(makeBatch(count: 2, valueSize: 5, seed: 9))
        log = nil
        return (Files.bytes(segment0), lastStart)
    }

    func testTornTailIsTruncatedAtEveryBytePosition() throws {
        let (file, lastStart) = try writeFourBatches()
        for cut in lastStart...file.count {
            Files.write(segment0, Array(file[..<cut]))
            var log: PartitionLog? = try open()
            let complete = cut == file.count
            XCTAssertEqual(log!.logEndOffset, Offset(complete ? 8 : 6), "cut at \(cut)")
            let report = try XCTUnwrap(log!.recoveryReport)
            if cut == lastStart || complete {
                XCTAssertEqual(report.truncations, [], "cut at \(cut)")
            } else {
                XCTAssertEqual(report.truncations.map(\.truncatedBytes), [Int64(cut - lastStart)], "cut at \(cut)")
                XCTAssertEqual(report.truncations.first?.validBytes, Int64(lastStart))
                XCTAssertEqual(report.bytesTruncated, Int64(cut - lastStart))
            }
            XCTAssertEqual(Files.bytes(segment0).count, complete ? file.count : lastStart, "the file is cut after the last valid batch")
            XCTAssertEqual(try readAll(log!).count, complete ? 4 : 3)
            // The log goes on from there.
            _ = try log!.append(makeBatch(count: 1))
            XCTAssertEqual(try readAll(log!).count, complete ? 5 : 4)
            log = nil
        }
    }

    func testCorruptTailIsTruncated() throws {
        let (file, lastStart) = try writeFourBatches()
        let cases: [(String, (inout [UInt8]) -> Void, String)] = [
            ("CRC", { $0[$0.count - 1] ^= 0xFF }, "CRC"),
            ("magic", { $0[lastStart + 16] = 1 }, "magic"),
            ("length", { $0[lastStart + 8] = 0x7F }, "torn"),
            ("short length", { $0.replaceSubrange(lastStart + 8..<lastStart + 12, with: [0, 0, 0, 10]) }, "smaller than a header"),
            ("garbage after the last batch", { $0 += [0xDE, 0xAD, 0xBE, 0xEF] + [UInt8](repeating: 7, count: 100) }, "magic"),
            ("offsets going back", { bytes in bytes.replaceSubrange(lastStart..<lastStart + 8, with: [0, 0, 0, 0, 0, 0, 0, 1]) }, "does not follow"),
        ]
        for (name, damage, reason) in cases {
            var bytes = file
            damage(&bytes)
            Files.write(segment0, bytes)
            var log: PartitionLog? = try open()
            let report = try XCTUnwrap(log!.recoveryReport)
            let keepsLast = name.hasPrefix("garbage")
            XCTAssertEqual(log!.logEndOffset, Offset(keepsLast ? 8 : 6), name)
            XCTAssertEqual(report.truncations.count, 1, "\(name): \(report)")
            XCTAssertTrue(report.truncations.first?.reason.contains(reason) == true, "\(name): \(report)")
            XCTAssertEqual(try readAll(log!).count, keepsLast ? 4 : 3, name)
            log = nil
        }
    }

    func testCleanShutdownMarker() throws {
        var log: PartitionLog? = try open()
        _ = try log!.append(makeBatch())
        try log!.close()
        log = nil
        XCTAssertTrue(Files.exists(directory.partition + "/.clean-shutdown"))
        // With the marker, a damaged tail is not scanned for... but the header walk still sees a
        // torn batch and rebuilds (which cuts it).
        Files.write(segment0, Files.bytes(segment0) + [1, 2, 3])
        log = try open()
        XCTAssertEqual(log!.recoveryReport?.cleanShutdown, true)
        XCTAssertEqual(log!.recoveryReport?.rebuiltIndexes.count, 1)
        XCTAssertEqual(log!.logEndOffset, Offset(3))
        XCTAssertFalse(Files.exists(directory.partition + "/.clean-shutdown"), "open removes the marker")
        log = nil
        log = try open()
        XCTAssertEqual(log!.recoveryReport?.cleanShutdown, false, "no close, no marker")
    }

    func testSegmentsAfterATruncatedUnflushedSegmentAreDeleted() throws {
        let size = makeBatch(count: 1).bytes.readableBytes
        var log: PartitionLog? = try open { $0.segmentBytes = size * 2 }
        for _ in 0..<4 { _ = try log!.append(makeBatch(count: 1)) }
        try log!.flush()
        for _ in 0..<6 { _ = try log!.append(makeBatch(count: 1)) }
        XCTAssertEqual(log!.segments.map(\.baseOffset.rawValue), [0, 2, 4, 6, 8])
        log = nil
        // The crash lost the tail of segment 4 but the OS had written segments 6 and 8.
        Files.truncate(Files.segmentPath(directory.partition, 4, "log"), to: size + 10)
        log = try open { $0.segmentBytes = size * 2 }
        let report = try XCTUnwrap(log!.recoveryReport)
        XCTAssertEqual(report.deletedSegments, [Offset(6), Offset(8)], "\(report)")
        XCTAssertEqual(log!.logEndOffset, Offset(5))
        XCTAssertEqual(try readAll(log!).count, 5)
        XCTAssertFalse(Files.exists(Files.segmentPath(directory.partition, 6, "log")))
        XCTAssertEqual(report.segmentsScanned, 2, "the recovery point (segment 2) skips segment 0")
    }

    func testLostSegmentFileCutsTheLogThere() throws {
        let size = makeBatch(count: 1).bytes.readableBytes
        var log: PartitionLog? = try open { $0.segmentBytes = size * 2 }
        for _ in 0..<2 { _ = try log!.append(makeBatch(count: 1)) }
        try log!.flush()
        for _ in 0..<6 { _ = try log!.append(makeBatch(count: 1)) }
        log = nil
        // Segment 4's creation never reached the disk; segment 6's did.
        Files.remove(Files.segmentPath(directory.partition, 4, "log"))
        log = try open { $0.segmentBytes = size * 2 }
        XCTAssertEqual(log!.recoveryReport?.deletedSegments, [Offset(6)])
        XCTAssertEqual(log!.logEndOffset, Offset(4))
    }

    func testInjectedTornWriteThenCrash() throws {
        var log: PartitionLog? = try open()
        _ = try log!.append(makeBatch(count: 2))
        let faults = FaultInjector()
        log!.faults = faults
        faults.nextWrite = .crashAfter(bytes: 30)
        assertThrowsLogError(.io) { _ = try log!.append(makeBatch(count: 2)) }
        assertThrowsLogError(.io) { _ = try log!.append(makeBatch(count: 2)) }
        assertThrowsLogError(.io) { try log!.flush() }
        XCTAssertEqual(Files.bytes(segment0).count, makeBatch(count: 2).bytes.readableBytes + 30, "the torn bytes are on disk")
        try log!.close()
        XCTAssertFalse(Files.exists(directory.partition + "/.clean-shutdown"), "an offline log closes without the marker")
        log = nil
        log = try open()
        XCTAssertEqual(log!.logEndOffset, Offset(2))
        XCTAssertEqual(log!.recoveryReport?.bytesTruncated, 30)
    }

    func testInjectedWriteFailureIsRepaired() throws {
        let log = try open()
        _ = try log.append(makeBatch(count: 2))
        let faults = FaultInjector()
        log.faults = faults
        faults.nextWrite = .failAfter(bytes: 70)
        assertThrowsLogError(.io) { _ = try log.append(makeBatch(count: 2)) }
        XCTAssertEqual(Int64(Files.bytes(segment0).count), log.sizeInBytes, "the partial batch was cut off")
        let result = try log.append(makeBatch(count: 2, seed: 5))
        XCTAssertEqual(result.baseOffset, Offset(2), "the failed batch took no offsets")
        try log.flush()
        XCTAssertEqual(try readAll(log).count, 2)
    }

    func testInjectedFsyncFailureTakesTheLogOffline() throws {
        var log: PartitionLog? = try open()
        _ = try log!.append(makeBatch(count: 2))
        try log!.flush()
        _ = try log!.append(makeBatch(count: 2))
        let faults = FaultInjector()
        log!.faults = faults
        faults.failNextSync = true
        assertThrowsLogError(.io) { try log!.flush() }
        XCTAssertEqual(log!.flushedOffset, Offset(2))
        assertThrowsLogError(.io) { _ = try log!.read(from: Offset(0), maxBytes: 100, minOneBatch: true) }
        log = nil
        log = try open()
        XCTAssertEqual(log!.logEndOffset, Offset(4), "the page cache still had it")
    }

    func testRecoveryPointLimitsTheScan() throws {
        let size = makeBatch(count: 1).bytes.readableBytes
        var log: PartitionLog? = try open { $0.segmentBytes = size }
        for _ in 0..<10 { _ = try log!.append(makeBatch(count: 1)) }
        try log!.flush()
        _ = try log!.append(makeBatch(count: 1))
        log = nil
        log = try open { $0.segmentBytes = size }
        XCTAssertEqual(log!.recoveryReport?.segmentsScanned, 2, "the active segment at the last flush, and the one after")
        XCTAssertEqual(log!.logEndOffset, Offset(11))
        // Without the recovery point every segment is scanned.
        log = nil
        Files.remove(directory.partition + "/recovery-point-offset")
        log = try open { $0.segmentBytes = size }
        XCTAssertEqual(log!.recoveryReport?.segmentsScanned, 11)
    }

    func testOverlappingSegmentsRefuseToOpen() throws {
        var log: PartitionLog? = try open()
        _ = try log!.append(makeBatch(count: 4))
        try log!.close()
        log = nil
        // A copy of segment 0 named as if it started at offset 2: its batches overlap.
        Files.write(Files.segmentPath(directory.partition, 2, "log"), Files.bytes(segment0))
        Files.write(Files.segmentPath(directory.partition, 2, "index"), [])
        Files.write(Files.segmentPath(directory.partition, 2, "timeindex"), [])
        Files.write(directory.partition + "/.clean-shutdown", [])
        assertThrowsLogError(.corruptMessage) { _ = try open() }
    }
}
