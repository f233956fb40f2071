/// One slot of an open-addressing index (linear probing over a power-of-two array): the stored
/// entry's hash, so probes skip most mismatches without touching the entry, and its id.
struct HashIndexSlot: Sendable {
    var hash: UInt64
    /// The entry id, or -1 for an empty slot.
    var id: Int32

    static let empty = HashIndexSlot(hash: 0, id: -1)
}

/// The index operations shared by the group table and the distinct-value table. Callers keep the load
/// below 0.7, so a probe run always ends at an empty slot.
extension Array where Element == HashIndexSlot {
    /// Inserts `id` (known to be absent) at the end of its probe run.
    mutating func insertSlot(hash: UInt64, id: Int32) {
        let mask = count - 1
        var probe = Int(truncatingIfNeeded: hash) & mask
        while self[probe].id >= 0 { probe = (probe + 1) & mask }
        self[probe] = HashIndexSlot(hash: hash, id: id)
    }

    /// Removes `id` (known to be present with `hash`) by backward shift: later slots of the probe run move
    /// into the hole unless their home slot lies cyclically in (hole, probe], so no tombstones are left
    /// and probe runs stay as short as if the entry had never been inserted.
    mutating func removeSlot(hash: UInt64, id: Int32) {
        let mask = count - 1
        var hole = Int(truncatingIfNeeded: hash) & mask
        while self[hole].id != id {
            precondition(self[hole].id >= 0, "hash index lost an entry")
            hole = (hole + 1) & mask
        }
        var probe = hole
        while true {
            probe = (probe + 1) & mask
            let slot = self[probe]
            if slot.id < 0 { break }
            let home = Int(truncatingIfNeeded: slot.hash) & mask
            let staysPut = hole <= probe ? (hole < home && home <= probe) : (hole < home || home <= probe)
            if staysPut { continue }
            self[hole] = slot
            hole = probe
        }
        self[hole] = .empty
    }

    /// Whether `live + 1` entries would pass the 0.7 load factor.
    func isFull(adding live: Int) -> Bool { live + 1 > count / 10 * 7 }
}
