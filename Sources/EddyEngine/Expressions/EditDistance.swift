/// Edit distance with adjacent transpositions (optimal string alignment: `nmae` is one edit from
/// `name`), for "did you mean" suggestions on unknown names.
enum EditDistance {
    static func between(_ a: String, _ b: String) -> Int {
        let a = Array(a.unicodeScalars), b = Array(b.unicodeScalars)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var beforePrevious = [Int](repeating: 0, count: b.count + 1)
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
                current[j] = min(substitution, previous[j] + 1, current[j - 1] + 1)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    current[j] = min(current[j], beforePrevious[j - 2] + 1)
                }
            }
            (beforePrevious, previous, current) = (previous, current, beforePrevious)
        }
        return previous[b.count]
    }
}

/// The candidate nearest to `name` (case-insensitively) when it is near enough to be a typo: at
/// most `maxDistance` edits (default: none for names of one or two characters, one up to five, two
/// beyond). For "did you mean" hints on unknown columns, tables, functions and options.
public func nearestName(to name: String, in candidates: some Sequence<String>, maxDistance: Int? = nil) -> String? {
    let lowered = name.lowercased()
    let limit = maxDistance ?? (lowered.count < 3 ? 0 : lowered.count < 6 ? 1 : 2)
    var best: (name: String, distance: Int)?
    for candidate in candidates {
        let distance = EditDistance.between(candidate.lowercased(), lowered)
        if distance <= limit, distance < (best?.distance ?? .max) { best = (candidate, distance) }
    }
    return best?.name
}
