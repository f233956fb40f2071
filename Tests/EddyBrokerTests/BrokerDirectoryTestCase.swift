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
        pool = NIOThreadPool(numberOfThreads: 2)
        pool.start()
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("eddy-\(type(of: self))-\(UUID().uuidString)").path
    }

    override func tearDown() {
        try? pool.syncShutdownGracefully()
        try? FileManager.default.removeItem(atPath: directory)
        super.tearDown()
    }

    /// A broker on the test's directory; `clock` fixes its time (nil: the system's).
    func makeBroker(_ configure: (inout BrokerConfig) -> Void = { _ in }, clock: (@Sendable () -> Int64)? = nil) throws -> Broker {
        var config = BrokerConfig(dataDirectory: directory)
        configure(&config)
        if let clock { return try Broker(config: config, pool: pool, logger: Logger(label: "test"), clock: clock) }
        return try Broker(config: config, pool: pool, logger: Logger(label: "test"))
    }
}
