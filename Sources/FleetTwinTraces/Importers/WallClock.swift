/// Calendar times as traces print them ("2017-10-09 07:01:55", optionally with a "T",
/// fractional seconds and a zone: " PST", "+08:00", "Z"), converted to seconds since
/// 1970-01-01 by arithmetic: no DateFormatter, no locale, so every machine agrees.
public enum WallClock {
    /// Zone abbreviations seen in cluster traces, as hours east of UTC.
    static let zones: [String: Int] = ["UTC": 0, "GMT": 0, "Z": 0, "PST": -8, "PDT": -7, "MST": -7, "MDT": -6,
                                       "CST": -6, "CDT": -5, "EST": -5, "EDT": -4]

    public struct Time: Equatable {
        /// Seconds since 1970-01-01 00:00:00 of the printed clock, converted to UTC when zoned.
        public var seconds: Double
        /// Whether the text named a zone (a zone-less time is taken as UTC).
        public var zoned: Bool

        public init(seconds: Double, zoned: Bool) {
            self.seconds = seconds
            self.zoned = zoned
        }
    }

    public static func parse(_ text: String) -> Time? {
        let b = Array(text.utf8)
        func digits(_ at: Int, _ count: Int) -> Int? {
            guard at + count <= b.count else { return nil }
            var value = 0
            for i in at..<(at + count) {
                guard b[i] >= 48 && b[i] <= 57 else { return nil }
                value = value * 10 + Int(b[i] - 48)
            }
            return value
        }
        guard b.count >= 16, let year = digits(0, 4), b[4] == UInt8(ascii: "-"), let month = digits(5, 2), b[7] == UInt8(ascii: "-"),
              let day = digits(8, 2), b[10] == UInt8(ascii: " ") || b[10] == UInt8(ascii: "T"),
              let hour = digits(11, 2), b[13] == UInt8(ascii: ":"), let minute = digits(14, 2),
              (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60 else { return nil }
        var seconds = Double(daysSinceEpoch(year: year, month: month, day: day) * 86_400 + hour * 3600 + minute * 60)
        var i = 16
        if i < b.count && b[i] == UInt8(ascii: ":") {
            guard let s = digits(i + 1, 2), s < 61 else { return nil }
            seconds += Double(s)
            i += 3
            if i < b.count && b[i] == UInt8(ascii: ".") {
                var scale = 0.1
                i += 1
                while i < b.count, b[i] >= 48 && b[i] <= 57 {
                    seconds += Double(b[i] - 48) * scale
                    scale /= 10
                    i += 1
                }
            }
        }
        while i < b.count && b[i] == UInt8(ascii: " ") { i += 1 }
        if i == b.count { return Time(seconds: seconds, zoned: false) }
        let zone = String(decoding: b[i...], as: UTF8.self)
        guard let offset = zoneOffset(zone) else { return nil }
        return Time(seconds: seconds - Double(offset), zoned: true)
    }

    /// Seconds east of UTC for "PST", "+08:00", "+0800", "-07", "Z".
    static func zoneOffset(_ zone: String) -> Int? {
        if let hours = zones[zone.uppercased()] { return hours * 3600 }
        let b = Array(zone.utf8)
        guard let sign = b.first, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") else { return nil }
        let rest = b.dropFirst().filter { $0 != UInt8(ascii: ":") }
        guard rest.count == 2 || rest.count == 4, rest.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        let n = rest.map { Int($0 - 48) }
        let minutes = (n[0] * 10 + n[1]) * 60 + (n.count == 4 ? n[2] * 10 + n[3] : 0)
        return (sign == UInt8(ascii: "-") ? -1 : 1) * minutes * 60
    }

    /// Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's days_from_civil).
    static func daysSinceEpoch(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// "2017-10-03 02:28:31" for whole seconds since 1970 (the inverse, for notes).
    public static func format(_ seconds: Double) -> String {
        let total = Int(seconds.rounded(.down))
        let days = total >= 0 ? total / 86_400 : (total - 86_399) / 86_400
        let secondOfDay = total - days * 86_400
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(year)-\(two(month))-\(two(day)) \(two(secondOfDay / 3600)):\(two(secondOfDay / 60 % 60)):\(two(secondOfDay % 60))"
    }
}
