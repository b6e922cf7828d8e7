import FleetTwinEngine

/// Parsers for the quantities scenarios are written in. Each returns nil on bad input and
/// the caller reports where; `expected` strings describe the accepted forms.
public enum Units {
    static let durationExpected = "a duration such as 90s, 30m, 2h, 1.5d or 250ms (a bare number is seconds), at most 100 years"
    /// Bandwidths from 1 MB/s to 1 PB/s, and checkpoint states up to 1 PB: a state moved at
    /// the slowest bandwidth takes 1e9 seconds, within `maxSeconds`.
    static let minBandwidth = 1e6, maxBandwidth = 1e15
    static let maxStateBytes: Int64 = 1_000_000_000_000_000
    static let sizeExpected = "a size such as 4GiB, 80GB, 512MiB (a bare number is bytes)"
    static let bandwidthExpected = "a bandwidth such as 10GBps, 10GB/s (bytes) or 400Gbps, 400Gb/s (bits)"

    /// The longest duration a scenario may give, and the most work one job may carry
    /// (steps x step time included): about 100 years. Divided by the slowest rate a job can
    /// run at, it stays far inside `VirtualTime.limit`.
    static let maxSeconds = 3.2e9
    static let maxSecondsExpected = "at most 100 years (3.2e9 seconds)"
    /// The latest a generator's arrivals may be expected to end: 10,000 years, a fourteenth
    /// of `VirtualTime.limit`, leaving room for the work after them.
    static let maxArrivalSeconds = 3.2e11

    /// `seconds` in whole years (of 365.25 days), for messages about spans beyond the clock.
    static func years(_ seconds: Double) -> String { String(format: "%.0f years", seconds / 31_557_600) }

    public static func duration(_ text: String) -> VirtualTime? {
        let units: [(String, Double)] = [("ms", 1e-3), ("us", 1e-6), ("s", 1), ("m", 60), ("h", 3600), ("d", 86_400), ("w", 604_800)]
        guard let seconds = scaled(text, units: units), seconds <= maxSeconds else { return nil }
        return VirtualTime.seconds(seconds)
    }

    static func size(_ text: String) -> Int64? {
        let units: [(String, Double)] = [
            ("KiB", 1024), ("MiB", 1_048_576), ("GiB", 1_073_741_824), ("TiB", 1_099_511_627_776),
            ("KB", 1e3), ("MB", 1e6), ("GB", 1e9), ("TB", 1e12), ("B", 1),
        ]
        guard let bytes = scaled(text, units: units), bytes < 9e18 else { return nil }
        return Int64(bytes.rounded())
    }

    /// Bytes per second.
    static func bandwidth(_ text: String) -> Double? {
        let units: [(String, Double)] = [
            ("GB/s", 1e9), ("MB/s", 1e6), ("TB/s", 1e12), ("GBps", 1e9), ("MBps", 1e6), ("TBps", 1e12),
            ("Gb/s", 1e9 / 8), ("Mb/s", 1e6 / 8), ("Tb/s", 1e12 / 8), ("Gbps", 1e9 / 8), ("Mbps", 1e6 / 8), ("Tbps", 1e12 / 8),
        ]
        return scaled(text, units: units, bareAllowed: false)
    }

    /// A non-negative number followed by one of `units` (longest match first by list order
    /// within equal suffix lengths).
    private static func scaled(_ text: String, units: [(String, Double)], bareAllowed: Bool = true) -> Double? {
        let t = text.trimmingWhitespace
        if bareAllowed, let v = Double(t), v.isFinite, v >= 0 { return v }
        for (suffix, factor) in units.sorted(by: { $0.0.count > $1.0.count }) where t.hasSuffix(suffix) {
            let number = String(t.dropLast(suffix.count)).trimmingWhitespace
            guard let v = Double(number), v.isFinite, v >= 0, (v * factor).isFinite else { return nil }
            return v * factor
        }
        return nil
    }
}

extension String {
    var trimmingWhitespace: String {
        var s = Substring(self)
        while s.first?.isWhitespace == true { s.removeFirst() }
        while s.last?.isWhitespace == true { s.removeLast() }
        return String(s)
    }
}
