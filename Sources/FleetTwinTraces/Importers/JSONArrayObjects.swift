import Foundation

/// Streams the objects of a top-level JSON array (`[{...}, {...}]`, laid out on any number
/// of lines) one at a time: it tracks nesting and strings to find where each object ends and
/// parses only that object's text with JSONSerialization, so memory holds one object and one
/// line (a log written as a single line is held whole by `LineReader`, yet parsed object by
/// object). An unparsable object is reported with its first line.
public struct JSONArrayObjects {
    public let path: String

    public init(path: String) { self.path = path }

    public enum Element {
        case object([String: Any])
        case invalid(String)
    }

    /// Calls `body` with each element and the line it starts on. A file that is not one JSON
    /// array (or ends before the array closes) is a located `TraceError`.
    public func forEach(_ body: (Element, Int) throws -> Void) throws {
        let lines = LineReader(path: path)
        guard lines.isReadable else { throw TraceError(file: path, line: 0, message: "cannot read the file") }
        var opened = false, closed = false
        var depth = 0, inString = false, escaped = false
        var current: [UInt8] = [], startLine = 0, lastLine = 0
        for line in lines {
            lastLine = line.number
            for (column, byte) in line.text.utf8.enumerated() {
                if closed {
                    guard byte == 0x20 || byte == 0x09 else { throw located(line.number, column, "unexpected text after the closing ']'") }
                    continue
                }
                if !opened {
                    if byte == 0x20 || byte == 0x09 { continue }  // a byte-order mark is LineReader's
                    guard byte == UInt8(ascii: "[") else { throw located(line.number, column, "expected a JSON array of job objects ('[')") }
                    opened = true
                    continue
                }
                if depth == 0 {
                    switch byte {
                    case 0x20, 0x09, UInt8(ascii: ","): continue
                    case UInt8(ascii: "]"): closed = true; continue
                    case UInt8(ascii: "{"): startLine = line.number
                    default: throw located(line.number, column, "expected a job object ('{') in the array")
                    }
                }
                current.append(byte)
                if inString {
                    if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
                    continue
                }
                switch byte {
                case UInt8(ascii: "\""): inString = true
                case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    depth -= 1
                    if depth == 0 {
                        try body(parse(current), startLine)
                        current.removeAll(keepingCapacity: true)
                    }
                default: break
                }
            }
            if depth > 0 { current.append(0x0A) }
        }
        if !opened { throw TraceError(file: path, line: max(lastLine, 1), message: "the file is empty; expected a JSON array of job objects") }
        if !closed {
            throw TraceError(file: path, line: max(lastLine, 1), message: depth > 0
                ? "the file ends inside the object that starts on line \(startLine) (truncated?)"
                : "the file ends before the array's closing ']' (truncated?)")
        }
    }

    private func located(_ line: Int, _ column: Int, _ message: String) -> TraceError {
        TraceError(file: path, line: line, column: column + 1, message: message)
    }

    private func parse(_ bytes: [UInt8]) -> Element {
        do {
            guard let object = try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else { return .invalid("not a JSON object") }
            return .object(object)
        } catch {
            return .invalid("not valid JSON")
        }
    }
}
