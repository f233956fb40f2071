/// Assigns the rows of a batch to windows in one pass over the time column, producing (row, window
/// tag) pairs in row order (a hopping or cumulating row yields one pair per window, ascending), and sorts
/// out the
/// rows that get none: late rows and rows without an event time. A window's tag is its start, except
/// for cumulating windows, whose tag is their end (`WindowSpec.bounds(ofTag:)`).
///
/// Late rule (the watermark passed in; `Int64.min` makes nothing late):
/// - tumbling, hopping, cumulating: a (row, window) pair is dropped when the window's end ≤ watermark (that window
///   has closed); a row left with no window is late.
/// - session: a row is late when its time < watermark (the session it would open or extend may already
///   be closed). Pairs carry the row's time as their "start".
/// - none: never late.
enum WindowAssigner {
    static func assign(
        window: WindowSpec, times: Column?, rowCount: Int, watermark: Int64,
        pairRows: inout [Int32], pairStarts: inout [Int64], lateRows: inout [Int32], nullTimeRows: inout [Int32]
    ) throws(EngineError) {
        pairRows.removeAll(keepingCapacity: true)
        pairStarts.removeAll(keepingCapacity: true)
        lateRows.removeAll(keepingCapacity: true)
        nullTimeRows.removeAll(keepingCapacity: true)
        guard let times else {
            // No time column: a plain group-by, every row counts.
            pairRows.append(contentsOf: (0..<rowCount).lazy.map { Int32($0) })
            pairStarts.append(contentsOf: repeatElement(0, count: rowCount))
            return
        }
        let values = times.int64s
        let words = times.validity?.words ?? []
        let hasNulls = times.validity != nil
        let limit = WindowSpec.maxEventTimeMagnitudeMs
        var outOfRange = -1
        for row in 0..<rowCount where (!hasNulls || ValidityBits.isSet(words, row)) {
            if values[row] < -limit || values[row] > limit {
                outOfRange = row
                break
            }
        }
        if outOfRange >= 0 {
            throw .execution("event time \(values[outOfRange]) ms in row \(outOfRange) is outside the supported range of ±\(limit) ms")
        }
        switch window {
        case .hopping, .cumulating:
            assignToSeveral(window, values, words, hasNulls, rowCount, watermark, &pairRows, &pairStarts, &lateRows, &nullTimeRows)
            return
        default:
            break
        }
        // At most one pair per row: fill pre-sized arrays through spans, then trim.
        pairRows.append(contentsOf: repeatElement(0, count: rowCount))
        pairStarts.append(contentsOf: repeatElement(0, count: rowCount))
        var rowsOut = pairRows.mutableSpan
        var startsOut = pairStarts.mutableSpan
        var pairCount = 0
        let timeSpan = values.span
        switch window {
        case .none:
            for row in 0..<rowCount {
                if hasNulls && !ValidityBits.isSet(words, row) {
                    nullTimeRows.append(Int32(row))
                } else {
                    rowsOut[pairCount] = Int32(row)
                    pairCount += 1
                }
            }
        case .tumbling(let size, let rawOffset):
            let offset = WindowSpec.normalizedOffset(rawOffset, size: size)
            // Consecutive rows mostly share a window: reuse the last start instead of dividing.
            var currentStart = Int64.max
            var currentEnd = Int64.min
            for row in 0..<rowCount {
                if hasNulls && !ValidityBits.isSet(words, row) {
                    nullTimeRows.append(Int32(row))
                    continue
                }
                let time = timeSpan[row]
                if time < currentStart || time >= currentEnd {
                    currentStart = WindowSpec.tumblingStart(time, size: size, offset: offset)
                    currentEnd = currentStart + size
                }
                if currentEnd <= watermark {
                    lateRows.append(Int32(row))
                } else {
                    rowsOut[pairCount] = Int32(row)
                    startsOut[pairCount] = currentStart
                    pairCount += 1
                }
            }
        case .session:
            for row in 0..<rowCount {
                if hasNulls && !ValidityBits.isSet(words, row) {
                    nullTimeRows.append(Int32(row))
                } else if timeSpan[row] < watermark {
                    lateRows.append(Int32(row))
                } else {
                    rowsOut[pairCount] = Int32(row)
                    startsOut[pairCount] = timeSpan[row]
                    pairCount += 1
                }
            }
        case .hopping, .cumulating:
            preconditionFailure("handled above")
        }
        pairRows.removeLast(rowCount - pairCount)
        pairStarts.removeLast(rowCount - pairCount)
    }

    /// Hopping and cumulating windows: a row gets one pair per window that contains it and has not
    /// closed, tags ascending.
    private static func assignToSeveral(
        _ window: WindowSpec, _ values: [Int64], _ words: [UInt64], _ hasNulls: Bool, _ rowCount: Int, _ watermark: Int64,
        _ pairRows: inout [Int32], _ pairStarts: inout [Int64], _ lateRows: inout [Int32], _ nullTimeRows: inout [Int32]
    ) {
        pairRows.reserveCapacity(rowCount)
        pairStarts.reserveCapacity(rowCount)
        let step = window.tagStep
        for row in 0..<rowCount {
            if hasNulls && !ValidityBits.isSet(words, row) {
                nullTimeRows.append(Int32(row))
                continue
            }
            let time = values[row]
            // The tags of the windows containing t, and how far a window's end lies past its tag.
            let first: Int64, last: Int64, endPastTag: Int64
            switch window {
            case .hopping(let size, let slide):
                // Starts s = k·slide with t - size < s ≤ t.
                (first, last, endPastTag) = (floorDivMod(time - size, slide).0 * slide + slide, floorDivMod(time, slide).0 * slide, size)
            case .cumulating(let size, _):
                // Ends e = k·step with t < e ≤ the end of t's period.
                (first, last, endPastTag) = (floorDivMod(time, step).0 * step + step, floorDivMod(time, size).0 * size + size, 0)
            default:
                preconditionFailure("only hopping and cumulating windows put a row in several")
            }
            var tag = first
            var assigned = false
            while tag <= last {
                if tag + endPastTag > watermark {
                    pairRows.append(Int32(row))
                    pairStarts.append(tag)
                    assigned = true
                }
                tag += step
            }
            if !assigned { lateRows.append(Int32(row)) }
        }
    }
}
