// One lookup for every spec enumeration's name table (number → spec name).

/// The name of `value` in `table`, which must be sorted by number; nil for unknown numbers.
@inlinable
func specName<T: Comparable>(_ value: T, in table: [(T, StaticString)]) -> StaticString? {
    var lo = 0, hi = table.count - 1
    while lo <= hi {
        let mid = (lo + hi) / 2
        if table[mid].0 == value { return table[mid].1 }
        if table[mid].0 < value { lo = mid + 1 } else { hi = mid - 1 }
    }
    return nil
}
