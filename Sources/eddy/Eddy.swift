import ArgumentParser
import EddyCore

@main
struct Eddy: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eddy",
        abstract: "Eddy: a real-time analytics pipeline with a Kafka-compatible log.",
        discussion: """
            Eddy runs a Kafka-wire-compatible broker, a streaming SQL engine and its sinks (files, Parquet, \
            SQLite, PostgreSQL, Kafka topics) in one binary.
            `eddy server` runs all of it in one process with a live dashboard, a REST API and Prometheus \
            /metrics; `eddy broker` runs the Kafka-compatible broker; `eddy run FILE.sql` runs a streaming SQL pipeline \
            (Flink SQL; see docs/sql.md); `eddy inspect` decodes captured Kafka requests.
            """,
        version: EddyVersion.current,
        subcommands: [ServerCommand.self, BrokerCommand.self, DemoCommand.self, RunCommand.self, SQLCommand.self, ExplainCommand.self, GenCommand.self, LakeCommand.self, Inspect.self]
    )
}
