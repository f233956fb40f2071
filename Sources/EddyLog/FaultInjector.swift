/// Fault points for tests, after Redpanda's failure probes: the randomized model test arms one, the
/// log meets it at its next segment write or fsync. Unarmed, each costs one nil check.
final class FaultInjector {
    enum WriteFault: Equatable {
        /// Write only this many bytes of the append, then "crash": the log stops without repairing
        /// the file, as if the process died mid-write. Only reopening recovers it.
        case crashAfter(bytes: Int)
        /// Write only this many bytes, then fail like EIO: the log cuts the partial batch off and
        /// stays usable.
        case failAfter(bytes: Int)
    }

    var nextWrite: WriteFault?
    /// The next fsync of a segment fails (fsyncgate: the log must then refuse further work).
    var failNextSync = false

    func takeWriteFault() -> WriteFault? {
        defer { nextWrite = nil }
        return nextWrite
    }

    func takeSyncFault() -> Bool {
        defer { failNextSync = false }
        return failNextSync
    }
}

/// Thrown by a segment write armed with `.crashAfter`: the log leaves the torn bytes in place.
struct SimulatedCrash: Error {}

/// A segment write that failed; `repaired` says whether the partial bytes were cut off again.
struct SegmentWriteFailure: Error {
    let error: LogError
    let repaired: Bool
}
