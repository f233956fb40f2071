import EddyCore
import EddyEngine
import EddyFormats
import EddyParquet
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Reads JSON-lines, CSV or Parquet files from a directory (Spark's file source): files are taken in
/// name order as they appear; hidden files and names starting with `_` or ending in `.tmp` are ignored.
/// A directory an Eddy files sink writes (it has `_eddy_log/`) is read through its log: only
/// committed part files, in batch order (see `LakeLog`, compactions included).
/// With `partitionColumns`, files are also looked for in Hive-style subdirectories (`dt=…/hour=…/`)
/// and those columns take their values from the directory names (see `HivePartition`); a file whose
/// directory value does not parse as its column's type goes to the dead letters whole, by name.
/// With `bounded`, only the files present when the query first starts are read, and their end ends
/// event time (open windows are emitted), as Flink does for a bounded input.
public struct FileSourceDescriptor: SourceDescriptor {
    public var directory: String
    public var format: RecordFormat
    public var bounded: Bool
    /// Threads decoding one batch's bytes in parallel (split at line boundaries).
    public var decodeThreads: Int
    /// Read and decode the next batch while the engine processes this one (see `FileSource`).
    public var readAhead: Bool
    /// Columns of `format`'s schema whose values are partition directory names, not in the files.
    public var partitionColumns: [String] = []

    public var schema: Schema { format.schema }
    public var isBounded: Bool { bounded }
    public var description: String { "files[\(directory), \(format)]" }

    public func makeSource(_ context: SourceContext) throws(EngineError) -> any Source {
        try FileSource(self, context: context)
    }
}

extension SourceDescriptor where Self == FileSourceDescriptor {
    /// Files of `directory` in `format`; see `FileSourceDescriptor`.
    public static func files(_ directory: String, format: RecordFormat, bounded: Bool = false,
                             decodeThreads: Int = FileSource.defaultDecodeThreads, readAhead: Bool = true) -> FileSourceDescriptor {
        FileSourceDescriptor(directory: directory, format: format, bounded: bounded, decodeThreads: max(1, decodeThreads),
                             readAhead: readAhead)
    }
}

/// The running file source. One partition, "0", whose offset is a byte position in the
/// concatenation of the file log (see `FileLog`); batches end on line boundaries.
///
/// Read-ahead: when a batch has been read and more bytes are known, the next batch (planned with
/// the read limit of the last plan) is read and decoded on a background thread while the engine
/// processes this one. It is only a guess: `read` uses it when the engine asks for exactly that
/// range and otherwise reads afresh, so offsets, checkpoints and replay never depend on it. It costs
/// one more batch in memory; `readAhead: false` turns it off.
public final class FileSource: Source {
    public static let defaultDecodeThreads = min(ProcessInfo.processInfo.activeProcessorCount, 4)
    /// How far back from a planned end the source looks for a line boundary before looking forward.
    static let boundaryWindowBytes = 1 << 20

    let descriptor: FileSourceDescriptor
    public let schema: Schema
    private let columns: [String]?
    private var log: FileLog
    private var listedOnce = false
    private var lastLimit: ReadLimit?
    /// The end `planEnd` gave last: a batch that ends elsewhere (clamped by available-now) is the last
    /// of its run, and nothing is read ahead after it.
    private var lastPlannedEnd: Int64?
    private var readAhead: ReadAhead?

    init(_ descriptor: FileSourceDescriptor, context: SourceContext) throws(EngineError) {
        var descriptor = descriptor
        // A table Eddy wrote with partition directories says which columns they are.
        if descriptor.partitionColumns.isEmpty && LakeLog.exists(descriptor.directory) {
            descriptor.partitionColumns = LakeLog.partitionColumns(descriptor.directory).filter { descriptor.schema.index(of: $0) != nil }
        }
        self.descriptor = descriptor
        columns = context.requiredColumns
        schema = columns.map { names in Schema(descriptor.schema.fields.filter { names.contains($0.name) }) } ?? descriptor.schema
        log = try FileLog(path: context.metadataDirectory.map { $0 + "/files" })
        if !descriptor.format.isWholeFile {  // schema problems surface at start
            _ = try FileRangeReader(descriptor: descriptor, columns: columns, sourceName: "", log: log).makeDecoder()
        }
    }

    deinit { readAhead?.wait() }

    public var description: String { descriptor.description }

    /// A reader over the files known now; a value, so the read-ahead thread gets its own copy.
    private var reader: FileRangeReader {
        FileRangeReader(descriptor: descriptor, columns: columns, sourceName: description, log: log)
    }

    public func initialOffsets() -> SourceOffsets { SourceOffsets([0: 0]) }

    public func latestOffsets() throws(EngineError) -> SourceOffsets {
        try discover()
        return SourceOffsets([0: log.totalBytes])
    }

    /// Takes in files that appeared since the last look (only at the first look when bounded).
    private func discover() throws(EngineError) {
        if descriptor.bounded && (listedOnce || !log.entries.isEmpty) { return }
        listedOnce = true
        var names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: descriptor.directory).sorted()
            // The output of an Eddy files sink: only the files its log lists are committed (a part
            // file of a batch that crashed before its log entry is not), as Spark reads a directory
            // with _spark_metadata; they are taken in the log's (batch) order.
            if names.contains("_eddy_manifest") && !names.contains(LakeLog.directoryName) {
                throw LakeLogError(LakeLog.olderLayout(descriptor.directory))
            }
            if names.contains(LakeLog.directoryName) {
                // Sizes from the log: a file compacted away since is read inside its compaction's output.
                let log = self.log
                let files = try LakeLog.filesToRead(descriptor.directory, taken: { log.contains($0) })
                try self.log.append(files.map { ($0.path, Int64($0.bytes)) })
                return
            } else if !descriptor.partitionColumns.isEmpty {
                names = Self.listRecursively(descriptor.directory, names)
            }
        } catch let error as LakeLogError {
            throw .execution(error.description)
        } catch {
            throw .execution("cannot list \(descriptor.directory): \(error.localizedDescription)")
        }
        var fresh: [(name: String, size: Int64)] = []
        for name in names where !log.contains(name) && !Self.isIgnored(name) {
            var info = stat()
            guard stat(descriptor.directory + "/" + name, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { continue }
            fresh.append((name, Int64(info.st_size)))
        }
        try log.append(fresh)
    }

    static func isIgnored(_ path: String) -> Bool {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        return name.hasPrefix(".") || name.hasPrefix("_") || name.hasSuffix(".tmp")
    }

    /// Relative paths of the files under `directory` (whose top level holds `names`), through
    /// subdirectories that are not hidden, in name order.
    static func listRecursively(_ directory: String, _ names: [String]) -> [String] {
        var result: [String] = []
        for name in names where !name.hasPrefix(".") && !name.hasPrefix("_") {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: directory + "/" + name, isDirectory: &isDirectory) else { continue }
            if isDirectory.boolValue {
                let inner = (try? FileManager.default.contentsOfDirectory(atPath: directory + "/" + name).sorted()) ?? []
                result += listRecursively(directory + "/" + name, inner).map { name + "/" + $0 }
            } else {
                result.append(name)
            }
        }
        return result
    }

    public func planEnd(from start: SourceOffsets, limit: ReadLimit) throws(EngineError) -> SourceOffsets {
        try discover()
        lastLimit = limit
        let end = try reader.planEnd(from: start[0] ?? 0, limit: limit)
        lastPlannedEnd = end
        return SourceOffsets([0: end])
    }

    public func read(from start: SourceOffsets, to end: SourceOffsets) throws(EngineError) -> [SourceChunk] {
        let from = start[0] ?? 0, to = end[0] ?? 0
        guard to > from else { return [] }
        if to > log.totalBytes { try discover() }
        guard to <= log.totalBytes else {
            throw .checkpoint("the offsets ask for byte \(to) of \(descriptor.directory) but its file log ends at \(log.totalBytes)")
        }
        var chunks: [SourceChunk]?
        if let guess = readAhead {
            readAhead = nil
            // A guess that failed (say, too many open files) gets a second chance with a fresh read.
            if case .success(let decoded)? = guess.result(from: from, to: to) {
                chunks = decoded
                readAheadHits += 1
            }
        }
        let result: [SourceChunk]
        if let chunks {
            result = chunks
        } else {
            result = try reader.read(from: from, to: to)
        }
        if to == lastPlannedEnd { startReadAhead(from: to) }
        return result
    }

    /// Batches served from the read-ahead (tests look at it).
    public private(set) var readAheadHits = 0

    private func startReadAhead(from start: Int64) {
        guard descriptor.readAhead, let limit = lastLimit, limit.maxBytes != nil, start < log.totalBytes else { return }
        readAhead = ReadAhead(reader: reader, from: start, limit: limit)
    }
}

/// The next batch, planned and decoded on a background thread (see `FileSource`).
private final class ReadAhead: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private let from: Int64
    // Written once by the background thread before `done` is signalled; read only after waiting.
    private var to: Int64 = -1
    private var outcome: Result<[SourceChunk], EngineError> = .success([])

    init(reader: FileRangeReader, from: Int64, limit: ReadLimit) {
        self.from = from
        DispatchQueue.global().async { [self] in
            do throws(EngineError) {
                let end = try reader.planEnd(from: from, limit: limit)
                to = end
                outcome = .success(try reader.read(from: from, to: end))
            } catch {
                outcome = .failure(error)
            }
            done.signal()
        }
    }

    /// Waits for the guess; its chunks when it covers exactly `from..<to`.
    func result(from: Int64, to: Int64) -> Result<[SourceChunk], EngineError>? {
        wait()
        return from == self.from && to == self.to ? outcome : nil
    }

    func wait() {
        done.wait()
        done.signal()
    }
}

/// Plans and reads byte ranges of the file log: line boundaries, parallel decoding, dead letters for
/// lines that do not decode. Holds no mutable state, so the read-ahead can run one on another thread.
struct FileRangeReader: Sendable {
    let descriptor: FileSourceDescriptor
    let columns: [String]?
    let sourceName: String
    let log: FileLog
    /// The format of the files: the declared one without the partition columns.
    let fileFormat: RecordFormat
    /// The columns to decode from the files (nil: all of `fileFormat`'s).
    let fileColumns: [String]?

    init(descriptor: FileSourceDescriptor, columns: [String]?, sourceName: String, log: FileLog) {
        self.descriptor = descriptor
        self.columns = columns
        self.sourceName = sourceName
        self.log = log
        let partitions = descriptor.partitionColumns
        fileFormat = descriptor.format.without(partitions)
        if let columns, !partitions.isEmpty {
            let inFiles = columns.filter { !partitions.contains($0) }
            // A query that reads only partition columns still decodes one column, to count the rows.
            fileColumns = inFiles.isEmpty ? Array(fileFormat.schema.names.prefix(1)) : inFiles
        } else {
            fileColumns = columns
        }
    }

    func makeDecoder() throws(EngineError) -> RowDecoder { try fileFormat.makeDecoder(columns: fileColumns) }

    /// The chunk's rows with the partition columns added from the file's directory names, in the
    /// source's column order; a value that does not parse as its column's type sends the file to
    /// the dead letters.
    private func addingPartitions(_ chunk: SourceChunk, _ entry: FileLog.Entry) -> SourceChunk {
        let partitions = descriptor.partitionColumns
        guard !partitions.isEmpty else { return chunk }
        let values = HivePartition.values(in: entry.name)
        let wanted = columns.map { names in descriptor.schema.fields.filter { names.contains($0.name) } } ?? descriptor.schema.fields
        let count = chunk.batch.count
        var output: [Column] = []
        for field in wanted {
            guard partitions.contains(field.name) else {
                output.append(chunk.batch.column(field.name)!)
                continue
            }
            var value = Value.null
            if let text = values[field.name] ?? nil {
                guard let parsed = Value(parsing: text, as: field.type) else {
                    let letter = DeadLetter(reason: .malformed, detail: "\(entry.name): partition value \(field.name)=\(text) is not a \(field.type)",
                                            source: sourceName, partition: 0, offset: entry.start, value: [])
                    return SourceChunk(partition: 0, batch: .empty(Schema(wanted)), deadLetters: chunk.deadLetters + [letter])
                }
                value = parsed
            }
            var builder = ColumnBuilder(field.type, capacity: count)
            for _ in 0..<count { builder.append(value) }
            output.append(builder.finish())
        }
        return SourceChunk(partition: chunk.partition, batch: RecordBatch(schema: Schema(wanted), columns: output), deadLetters: chunk.deadLetters)
    }

    /// The end of a batch starting at `from`: all known bytes, or a line boundary near `limit.maxBytes`.
    func planEnd(from: Int64, limit: ReadLimit) throws(EngineError) -> Int64 {
        let total = log.totalBytes
        guard let maxBytes = limit.maxBytes, total - from > maxBytes else { return total }
        if descriptor.format.isWholeFile {
            // Whole files: as many as fit the limit, at least one.
            guard var index = log.entryIndex(containing: from) else { return total }
            var end = log.entries[index].start + log.entries[index].size
            while index + 1 < log.entries.count, log.entries[index + 1].start + log.entries[index + 1].size - from <= maxBytes {
                index += 1
                end = log.entries[index].start + log.entries[index].size
            }
            return end
        }
        return try lineBoundary(near: from + maxBytes, after: from)
    }

    /// A line boundary (the position after a newline, or a file boundary) at or before `position`
    /// and after `floor`; if the line at `position` began before `floor`, the boundary after it.
    private func lineBoundary(near position: Int64, after floor: Int64) throws(EngineError) -> Int64 {
        guard let index = log.entryIndex(containing: position) else { return position }
        let entry = log.entries[index]
        if position == entry.start { return position }
        let fileFloor = max(floor, entry.start)
        let windowStart = max(fileFloor, position - Int64(FileSource.boundaryWindowBytes))
        let back = try readBytes(entry, from: windowStart - entry.start, count: Int(position - windowStart))
        if let newline = back.lastIndex(of: 0x0A) { return windowStart + Int64(newline) + 1 }
        // No newline behind us within the window: the line continues; end after it instead.
        var cursor = position
        let fileEnd = entry.start + entry.size
        while cursor < fileEnd {
            let count = Int(min(Int64(FileSource.boundaryWindowBytes), fileEnd - cursor))
            let ahead = try readBytes(entry, from: cursor - entry.start, count: count)
            if let newline = ahead.firstIndex(of: 0x0A) { return cursor + Int64(newline) + 1 }
            cursor += Int64(count)
        }
        return fileEnd
    }

    /// Bytes `from..<to` of the concatenation, decoded; one or more chunks per file.
    func read(from: Int64, to: Int64) throws(EngineError) -> [SourceChunk] {
        var chunks: [SourceChunk] = []
        var position = from
        while position < to, let index = log.entryIndex(containing: position) {
            let entry = log.entries[index]
            let upTo = min(to, entry.start + entry.size)
            if upTo > position {
                if descriptor.format.isWholeFile {
                    guard position == entry.start, upTo == entry.start + entry.size else {
                        throw .checkpoint("the offsets cut \(entry.name) at byte \(position - entry.start) or \(upTo - entry.start); a \(descriptor.format) file is read whole")
                    }
                    chunks.append(addingPartitions(try readWhole(entry), entry))
                } else {
                    let bytes = try readBytes(entry, from: position - entry.start, count: Int(upTo - position))
                    chunks += try decode(bytes, entry: entry, offsetInFile: position - entry.start).map { addingPartitions($0, entry) }
                }
            }
            position = entry.start + entry.size
        }
        return chunks
    }

    /// A whole Parquet file as the source's columns: columns the file lacks are NULL; a file that
    /// cannot be read, or whose column has another type, goes to the dead letters whole (by name).
    private func readWhole(_ entry: FileLog.Entry) throws(EngineError) -> SourceChunk {
        let wanted = fileColumns.map { names in fileFormat.schema.fields.filter { names.contains($0.name) } } ?? fileFormat.schema.fields
        let schema = Schema(wanted)
        var rows: Range<Int>?
        var bytes: [UInt8]
        if isLake, let moved = try movedFile(entry) {
            // Compacted away: its rows are a range of the output's.
            bytes = try readPhysical(descriptor.directory + "/" + moved.to, from: 0, count: nil)
            rows = moved.firstRow..<(moved.firstRow + moved.rows)
        } else {
            bytes = try readBytes(entry, from: 0, count: Int(entry.size))
        }
        func letter(_ reason: String) -> SourceChunk {
            SourceChunk(partition: 0, batch: .empty(schema), deadLetters: [
                DeadLetter(reason: .malformed, detail: "\(entry.name): \(reason)", source: sourceName, partition: 0, offset: entry.start, value: []),
            ])
        }
        do {
            let reader = try ParquetReader(bytes)
            let present = wanted.filter { reader.schema.field(named: $0.name) != nil }.map(\.name)
            var read = try reader.readAll(columns: present)
            if let rows {
                guard rows.upperBound <= read.count else { return letter("holds \(read.count) rows; the log puts this file's rows at \(rows)") }
                read = read.take(rows.map { Int32($0) })
            }
            var columns: [Column] = []
            for field in wanted {
                guard let index = read.schema.index(of: field.name) else {
                    var nulls = ColumnBuilder(field.type)
                    for _ in 0..<read.count { nulls.appendNull() }
                    columns.append(nulls.finish())
                    continue
                }
                let found = read.schema.fields[index].type
                guard found == field.type else {
                    return letter("column \(field.name) is \(found) in the file, \(field.type) in the table")
                }
                columns.append(read.columns[index])
            }
            return SourceChunk(partition: 0, batch: RecordBatch(schema: schema, columns: columns), deadLetters: [])
        } catch {
            return letter(error.description)
        }
    }

    /// Decodes whole lines, split across `decodeThreads` at line boundaries when the buffer is large.
    /// CSV with a header: every piece that does not start the file gets the file's header first.
    private func decode(_ bytes: [UInt8], entry: FileLog.Entry, offsetInFile: Int64) throws(EngineError) -> [SourceChunk] {
        let format = fileFormat, columns = fileColumns, sourceName = self.sourceName
        let expectsHeader = try format.makeDecoder(columns: columns).expectsHeader
        let header = expectsHeader ? try headerLine(entry) : []
        let threads = expectsHeader ? 1 : descriptor.decodeThreads
        let pieces = Self.split(bytes, into: bytes.count >= 4 << 20 ? threads : 1)
        let results = ChunkSlots(count: pieces.count)
        let decodeOne: @Sendable (Int) -> Void = { index in
            let piece = pieces[index]
            var failures: [DecodeFailure] = []
            var batch: RecordBatch
            var letters: [DeadLetter] = []
            do {
                var decoder = try format.makeDecoder(columns: columns)
                let prefix = expectsHeader && offsetInFile + Int64(piece.lowerBound) > 0 ? header : []
                if prefix.isEmpty {
                    _ = try bytes.withUnsafeBytes { raw throws(EngineError) in
                        try decoder.appendLines(UnsafeRawBufferPointer(rebasing: raw[piece]), firstLineNumber: 1, failures: &failures)
                    }
                } else {
                    _ = try (prefix + bytes[piece]).withUnsafeBytes { raw throws(EngineError) in
                        try decoder.appendLines(raw, firstLineNumber: 1, failures: &failures)
                    }
                }
                batch = decoder.finish()
                let shift = piece.lowerBound - prefix.count
                letters = failures.map { failure -> DeadLetter in
                    let range = failure.byteRange.map { ($0.lowerBound + shift)..<($0.upperBound + shift) }
                    let filePosition = offsetInFile + Int64(range?.lowerBound ?? piece.lowerBound)
                    var letter = DeadLetter(reason: .malformed, detail: "\(entry.name) byte \(filePosition): \(failure.reason)",
                                            source: sourceName, partition: 0, offset: entry.start + filePosition,
                                            value: range.map { Array(bytes[max(0, $0.lowerBound)..<$0.upperBound]) } ?? [])
                    letter.cause = failure.code.rawValue
                    return letter
                }
            } catch {
                results.fail(error as? EngineError ?? .internal("decoding failed: \(error)"))
                return
            }
            results.set(index, SourceChunk(partition: 0, batch: batch, deadLetters: letters))
        }
        if pieces.count == 1 {
            decodeOne(0)
        } else {
            DispatchQueue.concurrentPerform(iterations: pieces.count, execute: decodeOne)
        }
        return try results.collect()
    }

    /// The first line of a file (its CSV header), newline included.
    private func headerLine(_ entry: FileLog.Entry) throws(EngineError) -> [UInt8] {
        let head = try readBytes(entry, from: 0, count: Int(min(entry.size, Int64(FileSource.boundaryWindowBytes))))
        guard let newline = head.firstIndex(of: 0x0A) else { return head + [0x0A] }
        return Array(head[...newline])
    }

    /// Ranges of `bytes` ending on line boundaries, about equal in size.
    static func split(_ bytes: [UInt8], into parts: Int) -> [Range<Int>] {
        guard parts > 1 else { return [0..<bytes.count] }
        var ranges: [Range<Int>] = []
        var start = 0
        for part in 1..<parts {
            var cut = bytes.count * part / parts
            guard cut > start else { continue }
            while cut < bytes.count && bytes[cut - 1] != 0x0A { cut += 1 }
            if cut >= bytes.count { break }
            ranges.append(start..<cut)
            start = cut
        }
        ranges.append(start..<bytes.count)
        return ranges
    }

    /// Whether the directory is a table an Eddy files sink writes (its files may be compacted away).
    private var isLake: Bool { LakeLog.exists(descriptor.directory) }

    /// Where a file of the table went when a compaction deleted it; nil when it is still there.
    private func movedFile(_ entry: FileLog.Entry) throws(EngineError) -> LakeLog.Moved? {
        guard access(descriptor.directory + "/" + entry.name, F_OK) != 0, errno == ENOENT else { return nil }
        do {
            return try LakeLog.locate(descriptor.directory, entry.name)
        } catch {
            throw .execution("cannot read the log of \(descriptor.directory): \(error)")
        }
    }

    /// Bytes `offset..<offset + count` of a listed file. A file a compaction deleted is read inside
    /// the compaction's output (see `LakeLog.Moved`): its first `skipped` bytes (a CSV header) are
    /// the output's first bytes, the rest are at the output's `offset`.
    private func readBytes(_ entry: FileLog.Entry, from offset: Int64, count: Int) throws(EngineError) -> [UInt8] {
        if isLake, let moved = try movedFile(entry) {
            let output = descriptor.directory + "/" + moved.to
            let skipped = Int64(moved.skipped), end = offset + Int64(count)
            var bytes: [UInt8] = []
            if offset < skipped { bytes = try readPhysical(output, from: offset, count: Int(min(skipped, end) - offset)) }
            if end > skipped {
                let from = max(offset, skipped) - skipped + Int64(moved.offset)
                bytes += try readPhysical(output, from: from, count: Int(end - max(offset, skipped)))
            }
            return bytes
        }
        return try readPhysical(descriptor.directory + "/" + entry.name, from: offset, count: count, listedSize: entry.size)
    }

    /// `count` bytes (nil: to the end) of `path` from `offset`.
    private func readPhysical(_ path: String, from offset: Int64, count wanted: Int?, listedSize: Int64? = nil) throws(EngineError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw .execution("cannot open \(path): \(String(cString: strerror(errno))); files must stay until the query has read them")
        }
        defer { close(fd) }
        var count = wanted ?? 0
        if wanted == nil {
            var info = stat()
            guard fstat(fd, &info) == 0 else { throw .execution("cannot read \(path): \(String(cString: strerror(errno)))") }
            count = max(0, Int(info.st_size) - Int(offset))
        }
        var shortRead = false
        let bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            var done = 0
            while done < count {
                let result = pread(fd, buffer.baseAddress! + done, count - done, off_t(offset) + off_t(done))
                if result < 0 && errno == EINTR { continue }
                guard result > 0 else { shortRead = true; break }
                done += result
            }
            initialized = done
        }
        guard !shortRead else {
            let listed = listedSize.map { " (\($0) bytes)" } ?? ""
            throw .execution("\(path) is shorter than when it was listed\(listed): files must not change once in the directory")
        }
        return bytes
    }
}

/// Results of parallel decoding, one slot per piece (each written by one thread).
final class ChunkSlots: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [SourceChunk?]
    private var error: EngineError?

    init(count: Int) {
        slots = Array(repeating: nil, count: count)
    }

    func set(_ index: Int, _ chunk: SourceChunk) {
        lock.withLock { slots[index] = chunk }
    }

    func fail(_ error: EngineError) {
        lock.withLock { self.error = error }
    }

    func collect() throws(EngineError) -> [SourceChunk] {
        let (slots, error) = lock.withLock { (self.slots, self.error) }
        if let error { throw error }
        return slots.map { $0! }
    }
}
