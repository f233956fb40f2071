/// The columns an expression is evaluated over: a batch's columns, or the few an expression reads gathered
/// to a subset of rows (CASE and COALESCE evaluate a branch only on the rows that take it, so a failing
/// CAST in an untaken branch does not fail the batch). Columns the expression does not read may be `nil`
/// so a subset never gathers them.
struct EvalInput {
    let columns: [Column?]
    let count: Int

    init(_ batch: RecordBatch) {
        columns = batch.columns.map { $0 }
        count = batch.count
    }

    init(columns: [Column?], count: Int) {
        self.columns = columns
        self.count = count
    }

    /// The rows at `rows` of the columns at `reading`; the others left out.
    func gather(_ rows: [Int32], reading: [Int]) -> EvalInput {
        var gathered = [Column?](repeating: nil, count: columns.count)
        for index in reading {
            guard let column = columns[index] else { preconditionFailure("gathering column \(index), which is absent") }
            gathered[index] = column.take(rows)
        }
        return EvalInput(columns: gathered, count: rows.count)
    }
}
