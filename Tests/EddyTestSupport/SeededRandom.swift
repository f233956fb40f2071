import Foundation

/// A small deterministic generator for randomised tests, shared by the test targets. The seed comes
/// from `EDDY_SEED` when set (to replay a failure), otherwise from the clock; tests print it.
public struct SeededRandom: RandomNumberGenerator {
    private var state: UInt64
    public let seed: UInt64

    public init(_ testName: String) {
        if let text = ProcessInfo.processInfo.environment["EDDY_SEED"], let s = UInt64(text) {
            seed = s
        } else {
            seed = UInt64(UInt32.random(in: 1...UInt32.max))
        }
        state = seed
        print("\(testName): seed \(seed) (replay with EDDY_SEED=\(seed))")
    }

    public init(seed: UInt64) {
        self.seed = seed
        state = seed
    }

    /// SplitMix64.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
