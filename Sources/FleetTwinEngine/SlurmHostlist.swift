/// Slurm's host lists (`n[1-3,7]`, `gpu[01-02],login1`), as squeue's `nodes` and sinfo print
/// them (https://slurm.schedmd.com/squeue.html#OPT_nodelist, hostlist expressions).
public enum SlurmHostlist {
    /// The names in order, with zero-padding kept (`gpu[08-10]` is gpu08, gpu09, gpu10); nil
    /// when the text is not a host list. Ranges of at most 100,000 names.
    public static func expand(_ text: String) -> [String]? {
        var names: [String] = []
        var depth = 0, item = ""
        for c in text {
            if c == "[" { depth += 1 } else if c == "]" { depth -= 1 }
            guard depth >= 0, depth <= 1 else { return nil }
            if c == "," && depth == 0 {
                guard let expanded = expandOne(item) else { return nil }
                names += expanded
                item = ""
            } else {
                item.append(c)
            }
        }
        guard depth == 0 else { return nil }
        if !item.isEmpty {
            guard let expanded = expandOne(item) else { return nil }
            names += expanded
        }
        return names
    }

    /// One `prefix[ranges]suffix` or a plain name.
    private static func expandOne(_ item: String) -> [String]? {
        guard let open = item.firstIndex(of: "[") else { return item.isEmpty ? nil : [item] }
        guard let close = item.firstIndex(of: "]"), close > open else { return nil }
        let prefix = item[..<open], suffix = item[item.index(after: close)...]
        var names: [String] = []
        for range in item[item.index(after: open)..<close].split(separator: ",", omittingEmptySubsequences: false) {
            let bounds = range.split(separator: "-", omittingEmptySubsequences: false)
            guard (1...2).contains(bounds.count), let low = Int(bounds[0]), let high = Int(bounds.last!), low <= high,
                  high - low < 100_000, bounds.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isNumber) }) else { return nil }
            let width = bounds[0].count
            for n in low...high {
                let digits = String(n)
                names.append(prefix + String(repeating: "0", count: max(0, width - digits.count)) + digits + suffix)
            }
        }
        return names
    }
}
