import CFuzzDriver
import EddyEngine
import EddySQL

/// SQL text (bytes read as UTF-8, invalid sequences repaired) through the lexer, parser and binder,
/// with a connector over memory streams so every table binds. Each input either runs or fails with
/// an error inside the text; anything else (a crash, an error pointing outside the text) is a bug.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSQL(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: start, count: count), as: UTF8.self)
    let session = SQLSession(connectors: ConnectorRegistry([FuzzConnector()]))
    do {
        try session.run(text)
        for job in session.jobs { _ = try? job.pipeline.explain() }
    } catch {
        let lines = text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).count
        guard error.location.line >= 1, error.location.line <= lines, error.location.column >= 1,
              error.location.offset <= text.utf8.count else {
            fatalError("error outside the text: \(error)")
        }
        _ = error.rendered(in: text)
    }
    return 0
}

/// Every table is a memory stream or a memory sink.
struct FuzzConnector: TableConnector {
    let name = "memory"
    let optionKeys: Set<String> = ["name"]

    func source(_ table: TableDefinition) throws(SQLError) -> any SourceDescriptor {
        MemoryStream(table.schema)
    }

    func sink(_ table: TableDefinition, mode: SinkMode) throws(SQLError) -> any SinkDescriptor {
        MemorySink()
    }
}

/// SwiftPM links an executable's entry point as `FuzzSQL_main`; hand control to libFuzzer's driver.
@_cdecl("FuzzSQL_main")
public func fuzzSQLMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzzSQL(data!, size) }
}
