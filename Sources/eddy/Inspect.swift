import ArgumentParser
struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Decode captured Kafka request frames.")
    func run() throws {}
}
