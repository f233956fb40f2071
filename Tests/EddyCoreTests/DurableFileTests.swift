import EddyCore
import Foundation
import XCTest

final class DurableFileTests: XCTestCase {
    var directory = ""

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "eddy-durable-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    func testAFileAppearsOnlyWhenCommitted() throws {
        let path = directory + "/part"
        do {
            var abandoned = try DurableFileWriter(path)
            try abandoned.write(Array("half".utf8))
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), [], "an abandoned writer leaves nothing")
        var file = try DurableFileWriter(path)
        try file.write(Array("one ".utf8))
        XCTAssertFalse(FileManager.default.fileExists(atPath: path), "invisible until committed")
        try file.write(Array("two".utf8))
        try file.commit()
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "one two")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), ["part"])
    }

    func testReplaceSwapsTheWholeFile() throws {
        let path = directory + "/metadata"
        try DurableFile.replace(path, with: Array("a longer first version".utf8))
        try DurableFile.replace(path, with: Array("short".utf8))
        XCTAssertEqual(try DurableFile.read(path), Array("short".utf8))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), ["metadata"])
    }

    func testReadTellsAMissingFileFromAnUnreadableOne() throws {
        XCTAssertNil(try DurableFile.read(directory + "/absent"))
        try FileManager.default.createDirectory(atPath: directory + "/sub", withIntermediateDirectories: false)
        XCTAssertThrowsError(try DurableFile.read(directory + "/sub")) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains(directory + "/sub"), text)
            XCTAssertTrue(text.contains("directory"), text)  // EISDIR: "Is a directory"
        }
    }

    func testAWriterInAMissingDirectoryNamesThePath() {
        do {
            _ = try DurableFileWriter(directory + "/no/such/file")
            XCTFail("a writer in a missing directory was created")
        } catch {
            XCTAssertTrue("\(error)".contains(directory + "/no/such/file.tmp"), "\(error)")
        }
    }

    func testParentDirectory() {
        XCTAssertEqual(DurableFile.parentDirectory("a/b/c"), "a/b")
        XCTAssertEqual(DurableFile.parentDirectory("a/b/"), "a")
        XCTAssertEqual(DurableFile.parentDirectory("/a"), "/")
        XCTAssertEqual(DurableFile.parentDirectory("name"), ".")
    }
}
