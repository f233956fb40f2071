import Foundation
@_exported import EddyTestSupport

/// Test samples: a value of each schema with every field of a version set to a non-default value
/// (generated alongside the codecs, in Generated/Samples.swift).
protocol Sampled {
    static func sample(version: Int16) -> Self
}
