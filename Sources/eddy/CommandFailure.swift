import Logging
import ServiceLifecycle

/// A command that cannot go on. ArgumentParser prints it as `Error: <description>` on stderr and
/// exits with status 1, so the description is one line naming what failed (an address, a path)
/// and why.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
}

extension ServiceGroup {
    /// Runs the services until they stop. A service's failure (the listener cannot bind, …) is
    /// logged and returned, so the caller closes what it opened and then exits non-zero: a
    /// supervisor must not take a failed start for a clean stop.
    func runUntilStopped(logger: Logger, _ what: String) async -> CommandFailure? {
        do {
            try await run()
            return nil
        } catch {
            logger.error("\(what) stopped: \(error)")
            return CommandFailure(description: "\(what) stopped: \(error)")
        }
    }
}
