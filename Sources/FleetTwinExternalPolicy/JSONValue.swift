/// A JSON value as the external policy's answers are read: integers kept apart from
/// fractions and booleans, object members in their written order, so that an answer is
/// checked exactly against the schema (docs/external-policy.schema.json).
enum JSONValue: Equatable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([(key: String, value: JSONValue)])

    static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): true
        case let (.bool(x), .bool(y)): x == y
        case let (.int(x), .int(y)): x == y
        case let (.double(x), .double(y)): x == y
        case let (.string(x), .string(y)): x == y
        case let (.array(x), .array(y)): x == y
        case let (.object(x), .object(y)): x.map(\.key) == y.map(\.key) && x.map(\.value) == y.map(\.value)
        default: false
        }
    }

    /// What the value is, for messages ("a string", "an integer").
    var kind: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .int: "an integer"
        case .double: "a fraction"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.key == key }?.value
    }

    /// Parses one JSON text (RFC 8259); throws a message with the byte offset.
    static func parse(_ bytes: [UInt8]) throws(PolicyProcessError) -> JSONValue {
        var p = Parser(bytes: bytes)
        p.skipSpace()
        let value = try p.value(depth: 0)
        p.skipSpace()
        guard p.at == bytes.count else { throw p.error("text after the JSON value") }
        return value
    }

    private struct Parser {
        let bytes: [UInt8]
        var at = 0

        func error(_ what: String) -> PolicyProcessError { PolicyProcessError("\(what) at byte \(at)") }

        mutating func skipSpace() {
            while at < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[at]) { at += 1 }
        }

        mutating func expect(_ literal: String, _ value: JSONValue) throws(PolicyProcessError) -> JSONValue {
            let l = Array(literal.utf8)
            guard at + l.count <= bytes.count, Array(bytes[at..<at + l.count]) == l else { throw error("expected a JSON value") }
            at += l.count
            return value
        }

        mutating func value(depth: Int) throws(PolicyProcessError) -> JSONValue {
            guard depth < 64 else { throw error("nesting deeper than 64") }
            guard at < bytes.count else { throw error("the line ends where a JSON value was expected") }
            switch bytes[at] {
            case UInt8(ascii: "{"):
                at += 1
                var members: [(key: String, value: JSONValue)] = []
                skipSpace()
                if at < bytes.count, bytes[at] == UInt8(ascii: "}") { at += 1; return .object(members) }
                while true {
                    skipSpace()
                    guard at < bytes.count, bytes[at] == UInt8(ascii: "\"") else { throw error("expected a member name in quotes") }
                    let key = try string()
                    guard !members.contains(where: { $0.key == key }) else { throw error("member \"\(key)\" given twice") }
                    skipSpace()
                    guard at < bytes.count, bytes[at] == UInt8(ascii: ":") else { throw error("expected ':'") }
                    at += 1
                    skipSpace()
                    members.append((key, try value(depth: depth + 1)))
                    if try ended(by: "}", inside: "an object") { return .object(members) }
                }
            case UInt8(ascii: "["):
                at += 1
                var items: [JSONValue] = []
                skipSpace()
                if at < bytes.count, bytes[at] == UInt8(ascii: "]") { at += 1; return .array(items) }
                while true {
                    skipSpace()
                    items.append(try value(depth: depth + 1))
                    if try ended(by: "]", inside: "an array") { return .array(items) }
                }
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): return try expect("true", .bool(true))
            case UInt8(ascii: "f"): return try expect("false", .bool(false))
            case UInt8(ascii: "n"): return try expect("null", .null)
            default: return try number()
            }
        }

        /// After a member or item: true past the closing bracket, false past a comma.
        mutating func ended(by closing: Unicode.Scalar, inside what: String) throws(PolicyProcessError) -> Bool {
            skipSpace()
            guard at < bytes.count else { throw error("the line ends inside \(what)") }
            at += 1
            if bytes[at - 1] == UInt8(ascii: ",") { return false }
            guard bytes[at - 1] == UInt8(ascii: closing) else { at -= 1; throw error("expected ',' or '\(closing)'") }
            return true
        }

        mutating func number() throws(PolicyProcessError) -> JSONValue {
            let start = at
            while at < bytes.count, Self.numberBytes.contains(bytes[at]) { at += 1 }
            let text = String(decoding: bytes[start..<at], as: UTF8.self)
            let fraction = text.contains { $0 == "." || $0 == "e" || $0 == "E" }
            if !fraction, let v = Int64(text) { return .int(v) }
            guard let v = Double(text), v.isFinite else { at = start; throw error(text.isEmpty ? "expected a JSON value" : "'\(text)' is not a number") }
            return .double(v)
        }

        static let numberBytes = Set("0123456789.eE+-".utf8)

        mutating func string() throws(PolicyProcessError) -> String {
            at += 1
            var out: [UInt8] = []
            while at < bytes.count {
                let b = bytes[at]
                at += 1
                switch b {
                case UInt8(ascii: "\""): return String(decoding: out, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    guard at < bytes.count else { break }
                    let e = bytes[at]
                    at += 1
                    switch e {
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "r"): out.append(0x0D)
                    case UInt8(ascii: "b"): out.append(0x08)
                    case UInt8(ascii: "f"): out.append(0x0C)
                    case UInt8(ascii: "u"):
                        guard at + 4 <= bytes.count, let code = UInt32(String(decoding: bytes[at..<at + 4], as: UTF8.self), radix: 16) else {
                            throw error("bad \\u escape")
                        }
                        at += 4
                        // Surrogate pairs are kept as the replacement character: names are ASCII in practice.
                        out.append(contentsOf: Array(String(Unicode.Scalar(code).map(Character.init) ?? "\u{FFFD}").utf8))
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                    default: throw error("bad escape \\\(Character(Unicode.Scalar(e)))")
                    }
                default:
                    guard b >= 0x20 else { throw error("a control character inside a string") }
                    out.append(b)
                }
            }
            throw error("the line ends inside a string")
        }
    }
}

/// Builds one request line: JSON written straight into bytes, members in a fixed order, so
/// equal states give byte-identical requests.
struct JSONLine {
    private(set) var bytes: [UInt8] = []
    private var first = [true]

    init() { bytes.reserveCapacity(1 << 12) }

    private mutating func separate() {
        if first[first.count - 1] { first[first.count - 1] = false } else { bytes.append(UInt8(ascii: ",")) }
    }

    mutating func key(_ k: String) {
        string(k)
        bytes.append(UInt8(ascii: ":"))
        first[first.count - 1] = true  // the value follows without a comma
    }

    /// Starts an object or array (as a member's value after `key`, or an array's item).
    mutating func open(_ bracket: Character) {
        separate()
        bytes.append(UInt8(ascii: bracket.unicodeScalars.first!))
        first.append(true)
    }

    mutating func close(_ bracket: Character) {
        first.removeLast()
        bytes.append(UInt8(ascii: bracket.unicodeScalars.first!))
        first[first.count - 1] = false
    }

    /// Digits written straight into the line: requests hold thousands of integers per pass.
    mutating func int<T: BinaryInteger>(_ v: T) {
        separate()
        if v < 0 { bytes.append(UInt8(ascii: "-")) }
        var m = UInt64(v.magnitude)
        let start = bytes.count
        repeat {
            bytes.append(UInt8(ascii: "0") + UInt8(m % 10))
            m /= 10
        } while m > 0
        bytes[start...].reverse()
    }

    mutating func double(_ v: Double) {
        separate()
        bytes.append(contentsOf: Array((v.isFinite ? "\(v)" : "null").utf8))
    }

    mutating func bool(_ v: Bool) {
        separate()
        bytes.append(contentsOf: Array((v ? "true" : "false").utf8))
    }

    mutating func string(_ s: String) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: Array("\\u00".utf8) + [hex[Int(b >> 4)], hex[Int(b & 15)]])
            default: bytes.append(b)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    mutating func endLine() { bytes.append(0x0A) }
}
