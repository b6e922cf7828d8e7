extension RandomAccessCollection {
    /// The first index whose element does not satisfy `isBefore`, by halving: the collection
    /// must hold first every element that does, then every one that does not (a sorted
    /// array's insertion point, `isBefore` being "less than the key").
    func partitionPoint(_ isBefore: (Element) -> Bool) -> Index {
        var low = startIndex, count = self.count
        while count > 0 {
            let half = count / 2, mid = index(low, offsetBy: half)
            if isBefore(self[mid]) {
                low = index(after: mid)
                count -= half + 1
            } else {
                count = half
            }
        }
        return low
    }
}
