import Foundation

/// Calendar times as traces print them ("2017-10-09 07:01:55", optionally with a "T",
/// fractional seconds and a zone: " PST", "+08:00", "Z"), converted to seconds since
/// 1970-01-01 by arithmetic: no DateFormatter, no locale, so every machine agrees.
/// Importers read times through a `WallClock.Reader`, which counts zone-less times and
/// reads them in the zone given with `--time-zone` (UTC by default), so its note says so.
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

    /// The zone zone-less times are read in (`--time-zone`): a fixed offset ("+08:00", "-0700",
    /// "UTC", "Z", the abbreviations of `zones`) or an IANA name Foundation's TimeZone resolves
    /// ("Asia/Shanghai"), whose offset (daylight saving included) is that of each time.
    public struct Zone: Sendable, Equatable {
        /// As given.
        public let name: String
        let fixedOffset: Int?
        let named: TimeZone?

        /// The default: zone-less times are UTC.
        public static let utc = Zone(name: "UTC", fixedOffset: 0, named: nil)

        init(name: String, fixedOffset: Int?, named: TimeZone?) {
            self.name = name
            self.fixedOffset = fixedOffset
            self.named = named
        }

        /// Throws `InvalidZone` (its message says what is accepted) for anything else.
        public init(parsing text: String) throws(InvalidZone) {
            let trimmed = text.trimmingSpaces()
            if let offset = WallClock.zoneOffset(trimmed) {
                self.init(name: trimmed, fixedOffset: offset, named: nil)
            } else if !trimmed.isEmpty, let zone = TimeZone(identifier: trimmed) {
                self.init(name: trimmed, fixedOffset: nil, named: zone)
            } else {
                throw InvalidZone(message: "'\(text)' is not a time zone: expected an offset such as +08:00 or -0700, UTC, "
                                  + "an abbreviation (\(WallClock.zones.keys.sorted().joined(separator: ", "))) or an IANA name such as Asia/Shanghai")
            }
        }

        /// Seconds east of UTC of a wall-clock time in this zone (`local`: its seconds as if UTC).
        func offset(atLocal local: Double) -> Int {
            if let fixedOffset { return fixedOffset }
            guard let named else { return 0 }
            let guess = named.secondsFromGMT(for: Date(timeIntervalSince1970: local))
            return named.secondsFromGMT(for: Date(timeIntervalSince1970: local - Double(guess)))
        }
    }

    /// A `--time-zone` that is not one.
    public struct InvalidZone: Error, Equatable {
        /// What was given and what is accepted.
        public var message: String
    }

    /// Reads an input's times, counting those with and without a zone; zone-less ones are read
    /// in `zone`. `note` says how they were read, so no time is taken as UTC without a word.
    public struct Reader {
        /// The zone zone-less times are read in.
        public let zone: Zone
        /// Whether `zone` was given (`--time-zone`) rather than the UTC default.
        public let zoneGiven: Bool
        /// Times read so far that named a zone, that named none, and that were epoch numbers.
        public private(set) var zoned = 0
        public private(set) var zoneless = 0
        public private(set) var epochNumbers = 0

        /// A reader of zone-less times in `zone`; nil: UTC (and the note says none was given).
        public init(zone: Zone?) {
            self.zone = zone ?? .utc
            zoneGiven = zone != nil
        }

        /// Seconds since 1970 (UTC) of a printed time, or nil when it is not one.
        public mutating func seconds(_ text: String) -> Double? {
            guard let time = WallClock.parse(text) else { return nil }
            if time.zoned {
                zoned += 1
                return time.seconds
            }
            zoneless += 1
            return time.seconds - Double(zone.offset(atLocal: time.seconds))
        }

        /// A time field of a JSON log: a string (a printed time; "None" or "" is no time) or a
        /// number (epoch seconds, UTC). Anything else, or an unreadable string, is a `BadRow`
        /// naming `what`: no time is dropped silently.
        public mutating func seconds(json value: Any?, _ what: String) throws(BadRow) -> Double? {
            switch value {
            case nil, is NSNull: return nil
            case let text as String:
                if text.isEmpty || text == "None" { return nil }
                guard let t = seconds(text) else { throw BadRow("\(what) '\(text)' is not a time like 2017-10-09 07:01:55") }
                return t
            case let number as NSNumber where String(cString: number.objCType) != "c" && number.doubleValue.isFinite:
                epochNumbers += 1
                return number.doubleValue
            default:
                throw BadRow("\(what) is neither a time string nor a number of epoch seconds")
            }
        }

        /// Runs `body` on this reader; when it throws (the row is skipped), the times it read
        /// are not counted, so the note counts the times of the rows imported.
        public mutating func row<T>(_ body: (inout Reader) throws(BadRow) -> T) throws(BadRow) -> T {
            let saved = self
            do { return try body(&self) } catch {
                self = saved
                throw error
            }
        }

        /// How the times were read (nil when none was read).
        public var note: String? {
            var parts: [String] = []
            if zoned > 0 { parts.append("\(zoned) time\(zoned == 1 ? "" : "s") carried a zone and \(zoned == 1 ? "was" : "were") converted to UTC") }
            if zoneless > 0 {
                let how = zoneGiven ? "read in \(zone.name) (--time-zone)" : "read as UTC (no --time-zone given)"
                parts.append("\(zoneless) time\(zoneless == 1 ? "" : "s") had no zone and \(zoneless == 1 ? "was" : "were") \(how)"
                             + (zoned > 0 && !zoneGiven ? "; zoned and zone-less times are mixed: give --time-zone if the zone-less ones are local" : ""))
            }
            if epochNumbers > 0 { parts.append("\(epochNumbers) time\(epochNumbers == 1 ? " was a number" : "s were numbers"), read as epoch seconds (UTC)") }
            return parts.isEmpty ? nil : parts.joined(separator: "; ")
        }
    }
}
