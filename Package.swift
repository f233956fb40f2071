// swift-tools-version: 6.1
import PackageDescription

// Module map and dependency rules: see ARCHITECTURE.md and docs/DESIGN.md (a module depends only on those above it).
let package = Package(
    name: "eddy",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "eddy", targets: ["eddy"]),
        .library(name: "EddyWire", targets: ["EddyWire"]),
        // For the fuzz targets in Fuzz/ (the SQL front end, and the engine types it binds to).
        .library(name: "EddySQL", targets: ["EddySQL"]),
        .library(name: "EddyEngine", targets: ["EddyEngine"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/vapor/sqlite-nio", from: "1.13.2"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        // eddy server's HTTP (REST API, server-sent events, the dashboard) and /metrics. No traits:
        // Hummingbird's swift-configuration support is not used.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        // The webhook sink's HTTP(S) client.
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0", traits: []),
    ],
    targets: [
        // C shims and Debian's C libraries.
        .target(name: "CEddyShims"),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CRdKafka", pkgConfig: "rdkafka", providers: [.apt(["librdkafka-dev"])]),
        .systemLibrary(name: "CLZ4", pkgConfig: "liblz4", providers: [.apt(["liblz4-dev"])]),
        .systemLibrary(name: "CSnappy", providers: [.apt(["libsnappy-dev"])]),

        .target(
            name: "EddyCore",
            exclude: ["README.md"]
        ),
        .target(
            name: "EddyWire",
            dependencies: [
                "EddyCore", "CEddyShims", "CZlib", "CZstd", "CLZ4", "CSnappy",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            exclude: ["README.md"]
        ),
        .target(
            name: "EddyLog",
            dependencies: ["EddyCore", "EddyWire", "CEddyShims", .product(name: "NIOCore", package: "swift-nio")],
            exclude: ["README.md"]
        ),
        .target(
            name: "EddyBroker",
            dependencies: [
                "EddyCore", "EddyWire", "EddyLog",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ],
            exclude: ["README.md"]
        ),
        // The streaming engine: columnar batches, expressions, plans, operators, state, checkpoints, runtime.
        .target(name: "EddyEngine", dependencies: ["EddyCore", "CEddyShims"], exclude: ["README.md"]),
        .target(name: "EddyKafka", dependencies: ["EddyCore", "CRdKafka"], exclude: ["README.md"]),
        // JSON and CSV into columns and out of them (Avro and Protobuf later).
        .target(name: "EddyFormats", dependencies: ["EddyEngine"], exclude: ["README.md"]),
        // Streaming SQL in Flink's dialect: lexer, parser, binder to the engine's logical plans.
        .target(name: "EddySQL", dependencies: ["EddyEngine"], exclude: ["README.md"]),
        // Parquet files, written and read by hand (no Swift Parquet library on the mirror).
        .target(name: "EddyParquet", dependencies: ["EddyCore", "EddyEngine", "EddyWire", .product(name: "NIOCore", package: "swift-nio")],
                exclude: ["README.md"]),
        // Sources and sinks: files, a log through EddyCore's `RecordLog` (the embedded broker passes
        // itself in; a Kafka client later), generators (Parquet, PostgreSQL, Kafka later).
        .target(
            name: "EddyConnectors",
            dependencies: ["EddyCore", "EddyEngine", "EddyFormats", "EddySQL", "EddyParquet", "EddyKafka",
                           .product(name: "SQLiteNIO", package: "sqlite-nio"), .product(name: "PostgresNIO", package: "postgres-nio"),
                           .product(name: "AsyncHTTPClient", package: "async-http-client")],
            exclude: ["README.md"]
        ),
        // `eddy server`: pipelines as a service, the REST API, live events, the dashboard, /metrics.
        .target(
            name: "EddyServer",
            dependencies: [
                "EddyCore", "EddyWire", "EddyBroker", "EddyEngine", "EddyFormats", "EddySQL", "EddyConnectors",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            exclude: ["README.md"],
            resources: [.embedInCode("Web")]
        ),
        // The codec generator: reads spec/kafka-messages.json, writes Sources/EddyWire/Generated.
        .executableTarget(name: "EddyWireGen", exclude: ["README.md"]),
        .executableTarget(
            name: "eddy",
            dependencies: [
                "EddyCore", "EddyWire", "EddyLog", "EddyBroker", "EddyEngine", "EddyFormats", "EddyConnectors", "EddySQL", "EddyKafka", "EddyServer", "CEddyShims",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            exclude: ["README.md"]
        ),
        // Benchmarks live apart from tests and run in release mode (make bench-wire).
        .executableTarget(
            name: "EddyBench",
            dependencies: [
                "EddyWire", "CEddyShims", "CZlib", "CZstd", "CLZ4", "CSnappy",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Benchmarks/EddyBench"
        ),
        // The Swift API side of make bench-engine (the use-case pipelines built in Swift, next to SQL).
        .executableTarget(
            name: "EddyPipelineBench",
            dependencies: [
                "EddyEngine", "EddyFormats", "EddyConnectors",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Benchmarks/EddyPipelineBench"
        ),

        // Helpers shared by the test targets (seeded randomness).
        .target(name: "EddyTestSupport", path: "Tests/EddyTestSupport"),
        .testTarget(name: "EddyCoreTests", dependencies: ["EddyCore"]),
        .testTarget(name: "EddyLogTests", dependencies: ["EddyLog", "EddyTestSupport", .product(name: "NIOCore", package: "swift-nio")]),
        .testTarget(
            name: "EddyBrokerTests",
            dependencies: [
                "EddyBroker", "EddyLog", "EddyTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]
        ),
        .testTarget(name: "EddyEngineTests", dependencies: ["EddyEngine", "EddyTestSupport"]),
        .testTarget(name: "EddyServerTests", dependencies: ["EddyServer"]),
        .testTarget(name: "EddySQLTests", dependencies: ["EddySQL", "EddyEngine", "EddyTestSupport"]),
        .testTarget(name: "EddyFormatsTests", dependencies: ["EddyFormats", "EddyEngine", "EddyTestSupport"]),
        .testTarget(name: "EddyParquetTests", dependencies: ["EddyParquet", "EddyEngine", "EddyTestSupport"]),
        .testTarget(
            name: "EddyConnectorsTests",
            dependencies: [
                "EddyConnectors", "EddyCore", "EddyEngine", "EddyFormats", "EddyBroker", "EddyParquet", "EddyTestSupport",
                .product(name: "NIOPosix", package: "swift-nio"), .product(name: "Logging", package: "swift-log"),
                .product(name: "SQLiteNIO", package: "sqlite-nio"), .product(name: "PostgresNIO", package: "postgres-nio"),
            ]
        ),
        .testTarget(
            name: "EddyWireTests",
            dependencies: [
                "EddyWire", "EddyTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            resources: [.copy("Fixtures")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
