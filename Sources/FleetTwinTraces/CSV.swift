/// CSV as public traces write it: a header line naming the columns, then one row per line.
/// Fields are split on commas; a double-quoted field may hold commas and doubled quotes ("").
/// Rows are streamed through `LineReader`, so CRLF, a missing final newline and blank lines
/// are fine; a quoted field cannot span lines (that row is reported as malformed).
public enum CSV {
    /// The fields of one line, unquoted; unquoted fields are trimmed of surrounding spaces.
    /// Nil when a quote is left open.
    public static func fields(_ line: Substring) -> [String]? {
        var fields: [String] = []
        var field: [UInt8] = []
        var quoted = false, wasQuoted = false
        var bytes = line.utf8.makeIterator()
        func finish() {
            let text = String(decoding: field, as: UTF8.self)
            fields.append(wasQuoted ? text : text.trimmingSpaces())
            field.removeAll(keepingCapacity: true)
            wasQuoted = false
        }
        while let byte = bytes.next() {
            if quoted {
                if byte == UInt8(ascii: "\"") {
                    // Lookahead: a doubled quote is a literal quote, a single one ends the field.
                    guard let following = bytes.next() else { quoted = false; break }
                    if following == UInt8(ascii: "\"") { field.append(following); continue }
                    quoted = false
                    if following == UInt8(ascii: ",") { finish() } else if following != UInt8(ascii: " ") { field.append(following) }
                } else {
                    field.append(byte)
                }
            } else if byte == UInt8(ascii: ",") {
                finish()
            } else if byte == UInt8(ascii: "\"") && field.allSatisfy({ $0 == UInt8(ascii: " ") }) {
                field.removeAll()
                quoted = true
                wasQuoted = true
            } else {
                field.append(byte)
            }
        }
        if quoted { return nil }
        finish()
        return fields
    }
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while s.first == " " || s.first == "\t" { s.removeFirst() }
        while s.last == " " || s.last == "\t" { s.removeLast() }
        return String(s)
    }
}

/// A row that cannot become a job (or a fleet node); the importer skips it with this reason.
public struct BadRow: Error, Equatable {
    public var reason: String

    public init(_ reason: String) { self.reason = reason }
}

/// One data row of a CSV file, its fields looked up by column name.
public struct CSVRow {
    public let line: Int
    public let fields: [String]
    let columns: [String: Int]  // looked up only

    /// Whether the header has this column.
    public func has(_ column: String) -> Bool { columns[column.lowercased()] != nil }

    /// The field, trimmed; empty when the header lacks the column.
    public func string(_ column: String) -> String {
        columns[column.lowercased()].map { fields[$0] } ?? ""
    }

    /// A finite number, or nil for an empty field.
    public func optionalNumber(_ column: String) throws(BadRow) -> Double? {
        let text = string(column)
        if text.isEmpty { return nil }
        guard let value = Double(text), value.isFinite else { throw BadRow("\(column) '\(text)' is not a number") }
        return value
    }

    public func number(_ column: String) throws(BadRow) -> Double {
        guard let value = try optionalNumber(column) else { throw BadRow("\(column) is empty") }
        return value
    }

    /// A whole number ("8" or "8.0").
    public func integer(_ column: String) throws(BadRow) -> Int {
        let value = try number(column)
        guard value == value.rounded(), abs(value) < 1e15 else { throw BadRow("\(column) '\(string(column))' is not a whole number") }
        return Int(value)
    }
}

/// Streams the data rows of a CSV file whose header must name `required` columns
/// (case-insensitive). A missing file or column is a located `TraceError` (the file is
/// broken); a row with the wrong number of fields or an open quote goes to `skip`, as does
/// any `BadRow` that `body` throws. Blank lines and the header are not rows.
///
/// For files published without a header, `headerless` gives the documented column order:
/// then a first line that names none of those columns is a data row, and the columns are
/// those; a first line that names any of them is the header (checked as above).
public struct CSVFile {
    public let path: String
    public let required: [String]
    /// The documented column order of a file published without a header (nil: a header is required).
    public let headerless: [String]?

    public init(path: String, required: [String], headerless: [String]? = nil) {
        self.path = path
        self.required = required
        self.headerless = headerless
    }

    /// Calls `body` with each data row; returns whether the file had a header line.
    @discardableResult
    public func forEachRow(skip: (Int, String) -> Void, _ body: (CSVRow) throws -> Void) throws -> Bool {
        var hadHeader = true
        let lines = LineReader(path: path)
        guard lines.isReadable else { throw TraceError(file: path, line: 0, message: "cannot read the file") }
        var columns: [String: Int]?
        var width = 0
        for line in lines {
            if line.text.allSatisfy({ $0 == " " || $0 == "\t" }) { continue }
            guard let fields = CSV.fields(line.text) else {
                if columns == nil { throw TraceError(file: path, line: line.number, message: "the header has an unclosed quote") }
                skip(line.number, "a quote is not closed")
                continue
            }
            if columns == nil, let order = headerless,
               !fields.contains(where: { field in order.contains { $0.lowercased() == field.lowercased() } }) {
                columns = try header(order, line: line.number)
                width = order.count
                hadHeader = false
            }
            guard let known = columns else {
                columns = try header(fields, line: line.number)
                width = fields.count
                continue
            }
            guard fields.count == width else {
                skip(line.number, "expected \(width) fields as in the header, found \(fields.count)")
                continue
            }
            do {
                try body(CSVRow(line: line.number, fields: fields, columns: known))
            } catch let bad as BadRow {
                skip(line.number, bad.reason)
            }
        }
        if columns == nil {
            throw TraceError(file: path, line: 1, message: "the file is empty; expected a header naming the columns \(required.joined(separator: ","))")
        }
        return hadHeader
    }

    private func header(_ fields: [String], line: Int) throws -> [String: Int] {
        var columns: [String: Int] = [:]
        for (index, name) in fields.enumerated() where columns[name.lowercased()] == nil { columns[name.lowercased()] = index }
        if let missing = required.first(where: { columns[$0.lowercased()] == nil }) {
            var expected: [String] = []
            for name in required where !expected.contains(name) { expected.append(name) }
            // A first line naming none of the columns is most likely data: the file has no header.
            let headerless = required.allSatisfy { columns[$0.lowercased()] == nil }
                ? " (the first line names none of them: a file without a header cannot be mapped by name; the published Alibaba GPU-2020 tables are read by `import alibaba-pai`)" : ""
            throw TraceError(file: path, line: line, message: "the header lacks the column '\(missing)'; found: \(fields.joined(separator: ", ")); expected: \(expected.joined(separator: ", "))\(headerless)")
        }
        return columns
    }
}
