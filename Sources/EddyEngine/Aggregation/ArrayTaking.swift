/// Moves an array out of a stored property, leaving an empty one, so the caller holds the only
/// reference: hot loops then work on spans or buffer pointers of a uniquely referenced local without a
/// copy-on-write check per element, and several arrays of one struct can be borrowed at once (Swift's
/// exclusivity rules forbid overlapping accesses to `self`). The caller stores the array back.
@inline(__always)
func takeArray<Element>(_ array: inout [Element]) -> [Element] {
    var taken: [Element] = []
    swap(&taken, &array)
    return taken
}
