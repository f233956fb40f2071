import XCTest

/// Whether `condition` holds within `timeout`, polled every 5 ms. For waiting on what another task
/// does (a request parking, a background fsync), instead of sleeping for a guessed time: a slow
/// machine waits longer, a fast one not at all.
func eventually(within timeout: Duration = .seconds(10), _ condition: () -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
        guard ContinuousClock.now < deadline else { return false }
        try await Task.sleep(for: .milliseconds(5))
    }
    return true
}
