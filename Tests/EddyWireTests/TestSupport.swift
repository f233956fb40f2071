import Foundation

/// Test samples: a value of each schema with every field of a version set to a non-default value
/// (generated alongside the codecs, in Generated/Samples.swift).
protocol Sampled {
    static func sample(version: Int16) -> Self
}

/// A small deterministic generator for randomised tests. The seed comes from `EDDY_SEED` when set
/// (to replay a failure), otherwise from the clock; tests print it.
struct SeededRandom: RandomNumberGenerator {
    private var state: UInt64
    let seed: UInt64

    init(_ testName: String) {
        if let text = ProcessInfo.processInfo.environment["EDDY_SEED"], let s = UInt64(text) {
            seed = s
        } else {
            seed = UInt64(UInt32.random(in: 1...UInt32.max))
        }
        state = seed
        print("\(testName): seed \(seed) (replay with EDDY_SEED=\(seed))")
    }

    /// SplitMix64.
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
