import ArgumentParser
import EddyWire
import Foundation
import NIOCore

/// `eddy inspect`: decodes files of captured Kafka request frames (size prefix included, as on the
/// wire), prints each request's header and body, and the records of every Produce.
struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Decode captured Kafka request frames and print them.",
        discussion: """
            Each file holds one or more request frames exactly as a client sent them (4-byte size, \
            header, body), for example the captures under Tests/EddyWireTests/Fixtures/captures. \
            Produce requests are shown with their record batches decompressed and checked (CRC-32C).
            """
    )

    @Argument(help: "Files of size-prefixed Kafka request frames.", completion: .file())
    var files: [String]

    @Option(help: "Largest frame accepted, in bytes (Kafka's socket.request.max.bytes).")
    var maxFrameBytes: Int = KafkaFrame.defaultMaxFrameBytes

    @Flag(help: "Print every field of every body, not only a summary of Produce requests.")
    var verbose = false

    func validate() throws {
        guard maxFrameBytes > 0 else { throw ValidationError("--max-frame-bytes must be positive") }
    }

    func run() throws {
        var failed = false
        for path in files {
            guard let data = FileManager.default.contents(atPath: path) else {
                complain("\(path): cannot read the file")
                failed = true
                continue
            }
            do {
                let trailing = try KafkaFrame.split(ByteBuffer(bytes: data), maxFrameBytes: maxFrameBytes) { payload in
                    try printRequest(payload, from: path)
                }
                if trailing > 0 {
                    complain("\(path): \(trailing) trailing bytes do not make a whole frame")
                    failed = true
                }
            } catch {
                complain("\(path): \(error)")
                failed = true
            }
        }
        if failed { throw ExitCode.failure }
    }

    /// What could not be decoded goes to stderr, so the decoded requests on stdout stay clean.
    private func complain(_ message: String) {
        FileHandle.standardError.write(Data((message + "\n").utf8))
    }

    private func printRequest(_ payload: ByteBuffer, from path: String) throws {
        let frame = try KafkaFrame.decodeRequest(payload)
        let h = frame.header
        let name = frame.apiKey?.name ?? "unknown API \(h.requestApiKey)"
        print("\(path): \(name) v\(h.requestApiVersion), correlation id \(h.correlationId), "
            + "client id \(h.clientId.map { "\"\($0)\"" } ?? "null"), header v\(frame.headerVersion), \(payload.readableBytes + 4) bytes")
        guard let key = frame.apiKey else { return }
        let body = try key.requestType.decode(frame.body, version: h.requestApiVersion)
        if let produce = body as? ProduceRequest {
            try printProduce(produce)
        }
        if verbose || !(body is ProduceRequest) {
            print(Pretty.render(body, indent: "  "))
        }
    }

    private func printProduce(_ produce: ProduceRequest) throws {
        print("  acks \(produce.acks), timeout \(produce.timeoutMs) ms, transactional id \(produce.transactionalId ?? "null")")
        for topic in produce.topicData {
            for partition in topic.partitionData {
                guard let records = partition.records else { continue }
                for batch in try RecordBatch.batches(in: records) {
                    try batch.validate()
                    let b = batch.header
                    print("  \(topic.name)-\(partition.index): batch of \(b.recordCount) records, \(b.compression), "
                        + "\(batch.bytes.readableBytes) bytes, CRC-32C ok, producer \(b.producerId) epoch \(b.producerEpoch) sequence \(b.baseSequence)")
                    for record in try batch.records() {
                        let headers = record.headers.map { "\($0.key)=\($0.value.map { String(buffer: $0) } ?? "null")" }
                        print("    offset +\(record.offsetDelta) ts \(b.baseTimestamp.millis + record.timestampDelta) "
                            + "key \(Pretty.text(record.key)) value \(Pretty.text(record.value))"
                            + (headers.isEmpty ? "" : " headers \(headers.joined(separator: ","))"))
                    }
                }
            }
        }
    }
}

/// Renders a decoded message as indented `field: value` lines: byte buffers as their size, empty
/// collections and unknown tagged fields left out.
enum Pretty {
    static func text(_ bytes: ByteBuffer?) -> String {
        guard let bytes else { return "null" }
        let s = String(buffer: bytes)
        return s.utf8.count == bytes.readableBytes && !s.contains("\u{FFFD}") ? "\"\(s)\"" : "<\(bytes.readableBytes) bytes>"
    }

    static func render(_ value: Any, indent: String) -> String {
        var lines: [String] = []
        walk(value, indent: indent, into: &lines)
        return lines.joined(separator: "\n")
    }

    private static func walk(_ value: Any, indent: String, into lines: inout [String]) {
        for child in Mirror(reflecting: value).children {
            guard let label = child.label, label != "unknownTaggedFields" else { continue }
            let v = child.value
            if let buffer = v as? ByteBuffer {
                lines.append("\(indent)\(label): <\(buffer.readableBytes) bytes>")
            } else if let list = v as? [any KafkaStruct] {
                for (i, element) in list.enumerated() {
                    lines.append("\(indent)\(label)[\(i)]:")
                    walk(element, indent: indent + "  ", into: &lines)
                }
            } else if let element = v as? any KafkaStruct {
                lines.append("\(indent)\(label):")
                walk(element, indent: indent + "  ", into: &lines)
            } else {
                let m = Mirror(reflecting: v)
                if m.displayStyle == .optional {
                    lines.append("\(indent)\(label): \(m.children.first.map { "\($0.value)" } ?? "null")")
                } else {
                    lines.append("\(indent)\(label): \(v)")
                }
            }
        }
    }
}
