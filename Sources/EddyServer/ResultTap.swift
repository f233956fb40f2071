import EddyEngine

extension StreamingPipeline {
    /// The same pipeline with its sink watched: `observe` sees each batch's rows once the sink has
    /// written them (the dashboard's live results). The sink, its description and the checkpoint's
    /// signature are unchanged.
    func tapped(_ observe: @escaping @Sendable (RecordBatch) -> Void) -> StreamingPipeline {
        guard case .sink(let input, let sink) = plan else { return self }
        return StreamingPipeline(plan: .sink(input, LogicalSink(TapDescriptor(inner: sink.descriptor, observe: observe), mode: sink.mode)))
    }
}

private struct TapDescriptor: SinkDescriptor {
    let inner: any SinkDescriptor
    let observe: @Sendable (RecordBatch) -> Void

    var description: String { inner.description }

    func makeSink(_ context: SinkContext) throws(EngineError) -> any Sink {
        TapSink(inner: try inner.makeSink(context), observe: observe)
    }
}

private final class TapSink: Sink {
    let inner: any Sink
    let observe: @Sendable (RecordBatch) -> Void

    init(inner: any Sink, observe: @escaping @Sendable (RecordBatch) -> Void) {
        self.inner = inner
        self.observe = observe
    }

    var description: String { inner.description }

    func lastCommittedBatch() throws(EngineError) -> Int64? { try inner.lastCommittedBatch() }

    func write(batchId: Int64, _ batch: RecordBatch) throws(EngineError) -> [DeadLetter] {
        let letters = try inner.write(batchId: batchId, batch)
        if !batch.isEmpty { observe(batch) }
        return letters
    }

    func prepare() throws(EngineError) { try inner.prepare() }
    func close() throws(EngineError) { try inner.close() }
}
