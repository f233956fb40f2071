import Foundation
import Logging
import NIOPosix
import XCTest

@testable import EddyBroker

/// A test case with a thread pool and a fresh data directory (removed afterwards) for brokers it
/// opens in-process.
class BrokerDirectoryTestCase: XCTestCase {
    var pool: NIOThreadPool!
    var directory: String!

    override func setUp() {
        super.setUp()
        pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("eddy-\(type(of: self))-\(UUID().uuidString)").path
    }

    override func tearDown() {
        try? pool.syncShutdownGracefully()
        try? FileManager.default.removeItem(atPath: directory)
        super.tearDown()
    }

    func makeBroker() throws -> Broker {
        try Broker(config: BrokerConfig(dataDirectory: directory), pool: pool, logger: Logger(label: "test"))
    }
}
