// swift-tools-version: 6.1
// libFuzzer targets for Eddy's decoders, kept in their own package so that the main package's
// `swift build` never links them (libFuzzer supplies `main`). Built and run by `make fuzz`
// (scripts/fuzz.sh) with -sanitize=fuzzer,address.
import PackageDescription

let package = Package(
    name: "EddyFuzz",
    dependencies: [
        .package(name: "eddy", path: ".."),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        .target(name: "CFuzzDriver"),
        .executableTarget(
            name: "FuzzWireFrames",
            dependencies: ["CFuzzDriver", .product(name: "EddyWire", package: "eddy"), .product(name: "NIOCore", package: "swift-nio")]
        ),
        .executableTarget(
            name: "FuzzRecordBatch",
            dependencies: ["CFuzzDriver", .product(name: "EddyWire", package: "eddy"), .product(name: "NIOCore", package: "swift-nio")]
        ),
        .executableTarget(
            name: "FuzzSQL",
            dependencies: ["CFuzzDriver", .product(name: "EddySQL", package: "eddy"), .product(name: "EddyEngine", package: "eddy")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
