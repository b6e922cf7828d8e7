import Foundation
import FleetTwinEngine
import Yams

/// Reads typed values out of a composed YAML tree and reports every problem at the node
/// it concerns. Decoding by hand (instead of `Codable`) is what makes located errors and
/// unknown-key rejection possible: `Codable` keeps only coding paths and ignores extra keys.
typealias YAMLNode = Yams.Node

struct YAMLReader {
    let file: String
    let text: String
    /// Every file the document refers to, in the order it names them.
    let referenced = ReferencedFiles()
    /// When set, records every number read and every mapping's keys (`Scenario.schemaUse`).
    var log: SchemaLog? = nil

    /// A path as written in this file: absolute, or relative to the file's folder. The file
    /// becomes part of the document's identity (`Scenario.referencedFiles`).
    func resolve(_ given: String) -> String {
        let path = given.hasPrefix("/") ? given : URL(fileURLWithPath: file).deletingLastPathComponent().appendingPathComponent(given).path
        referenced.files.append(ReferencedFile(path: path, given: given))
        return path
    }

    func error(at node: YAMLNode?, _ message: String) -> ScenarioError {
        let line = node?.mark?.line ?? 1, column = node?.mark?.column ?? 1
        return ScenarioError(file: file, line: line, column: column, message: message,
                             excerpt: excerpt(line: line, column: column))
    }

    func excerpt(line: Int, column: Int) -> String? {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        if lines.last?.isEmpty == true { lines.removeLast() }
        guard line >= 1, line <= lines.count else { return nil }
        let source = String(lines[line - 1]).replacingTabs
        return "  " + source + "\n  " + String(repeating: " ", count: max(0, column - 1)) + "^"
    }

    /// Parses the whole document, turning Yams' syntax errors into located errors.
    func compose() throws(ScenarioError) -> YAMLNode {
        let root: YAMLNode?
        do {
            root = try Yams.compose(yaml: text)
        } catch let yaml as YamlError {
            throw syntaxError(yaml)
        } catch {
            throw ScenarioError(file: file, line: 1, column: 1, message: "unreadable YAML: \(error)")
        }
        guard let root else { throw ScenarioError(file: file, line: 1, column: 1, message: "the scenario is empty; expected a mapping with at least 'fleet' and 'workload'") }
        return root
    }

    private func syntaxError(_ error: YamlError) -> ScenarioError {
        switch error {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _), let .composer(context, problem, mark, _):
            let detail = context.map { "\($0.text) (line \($0.mark.line)), " } ?? ""
            // `>` and `|` start block scalars: an unquoted goal condition lands here.
            let hint = (context?.text ?? "").contains("block scalar")
                ? "; a value starting with > or | must be quoted, as goals are: \">= 0.8\"" : ""
            return ScenarioError(file: file, line: mark.line, column: mark.column,
                                 message: "YAML syntax: \(detail)\(problem)\(hint)", excerpt: excerpt(line: mark.line, column: mark.column))
        case let .duplicatedKeysInMapping(duplicates, context):
            let names = duplicates.map { "'\($0)'" }.joined(separator: ", ")
            // Yams marks the mapping; point at the key's second occurrence where it is found.
            let (line, column) = duplicates.first.flatMap { secondOccurrence(ofKey: $0, from: context.mark.line) }
                ?? (context.mark.line, context.mark.column)
            return ScenarioError(file: file, line: line, column: column,
                                 message: "duplicate key \(names) in one mapping; expected each key once",
                                 excerpt: excerpt(line: line, column: column))
        default:
            return ScenarioError(file: file, line: 1, column: 1, message: "YAML: \(error)")
        }
    }

    /// Where a block mapping starting at `line` gives `key` the second time, at the column it
    /// first gave it: (line, column), 1-based; nil when not found (a flow mapping, say).
    private func secondOccurrence(ofKey key: String, from line: Int) -> (Int, Int)? {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard line >= 1, line <= lines.count else { return nil }
        var first: Int?
        for k in (line - 1)..<lines.count {
            let source = String(lines[k]).replacingTabs
            let indent = source.prefix { $0 == " " || $0 == "-" }.count
            let rest = source.dropFirst(indent)
            guard rest.hasPrefix(key + ":") || rest.hasPrefix("\"\(key)\":") else { continue }
            if let column = first {
                if column == indent + 1 { return (k + 1, column) }
            } else {
                first = indent + 1
            }
        }
        return nil
    }

    // MARK: Mappings

    /// A mapping whose keys are checked against `allowed`; `what` names it in messages.
    func object(_ node: YAMLNode, _ what: String, allowed: [String]) throws(ScenarioError) -> YAMLObject {
        guard case .mapping(let mapping) = node else {
            throw error(at: node, "\(what) must be a mapping with keys \(allowed.joined(separator: ", ")); found \(describe(node))")
        }
        var fields: [(key: String, keyNode: YAMLNode, value: YAMLNode)] = []
        for (keyNode, value) in mapping {
            guard let key = keyNode.scalar?.string else { throw error(at: keyNode, "keys of \(what) must be plain words") }
            guard allowed.contains(key) else {
                let hint = Self.suggestion(for: key, among: allowed).map { " (did you mean '\($0)'?)" } ?? ""
                throw error(at: keyNode, "unknown key '\(key)' in \(what)\(hint); expected one of: \(allowed.joined(separator: ", "))")
            }
            fields.append((key, keyNode, value))
        }
        log?.mappings.append((allowed, fields.map(\.key)))
        return YAMLObject(node: node, what: what, fields: fields, reader: self)
    }

    func sequence(_ node: YAMLNode, _ what: String) throws(ScenarioError) -> [YAMLNode] {
        guard case .sequence(let seq) = node else { throw error(at: node, "\(what) must be a list; found \(describe(node))") }
        return Array(seq)
    }

    // MARK: Scalars

    func string(_ node: YAMLNode, _ what: String) throws(ScenarioError) -> String {
        guard let s = node.scalar?.string else { throw error(at: node, "\(what) must be a string; found \(describe(node))") }
        return s
    }

    func int(_ node: YAMLNode, _ what: String, min: Int = Int.min, max: Int = Int.max) throws(ScenarioError) -> Int {
        log?.record(node, .integer, what)
        guard let s = node.scalar?.string, let v = Int(s.replacingOccurrences(of: "_", with: "")) else {
            throw error(at: node, "\(what) must be an integer; found \(describe(node))")
        }
        guard v >= min, v <= max else {
            let range = max == Int.max ? "at least \(min)" : "between \(min) and \(max)"
            throw error(at: node, "\(what) must be \(range); found \(v)")
        }
        return v
    }

    /// A finite number at least (or, `exclusiveMin`, above) `min` and at most `max`.
    func double(_ node: YAMLNode, _ what: String, min: Double = -.infinity, exclusiveMin: Bool = false,
                max: Double = .greatestFiniteMagnitude) throws(ScenarioError) -> Double {
        log?.record(node, .number, what)
        guard let s = node.scalar?.string, let v = Double(s), v.isFinite else {
            throw error(at: node, "\(what) must be a number; found \(describe(node))")
        }
        guard exclusiveMin ? v > min : v >= min else {
            throw error(at: node, "\(what) must be \(exclusiveMin ? "greater than" : "at least") \(min.clean)\(max < .greatestFiniteMagnitude ? " and at most \(max.clean)" : ""); found \(v.clean)")
        }
        guard v <= max else {
            throw error(at: node, "\(what) must be at most \(max.clean)\(min > -.infinity ? " and \(exclusiveMin ? "above" : "at least") \(min.clean)" : ""); found \(v.clean)")
        }
        return v
    }

    func bool(_ node: YAMLNode, _ what: String) throws(ScenarioError) -> Bool {
        switch node.scalar?.string.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw error(at: node, "\(what) must be true or false; found \(describe(node))")
        }
    }

    func duration(_ node: YAMLNode, _ what: String, positive: Bool = true) throws(ScenarioError) -> VirtualTime {
        log?.record(node, .duration, what)
        guard let s = node.scalar?.string, let d = Units.duration(s) else {
            // A negative duration is a duration in the wrong direction, not a typo: say so.
            if let s = node.scalar?.string, s.hasPrefix("-"), Units.duration(String(s.dropFirst())) != nil {
                throw error(at: node, "\(what) must be \(positive ? "longer than zero" : "zero or more"); found \(describe(node))")
            }
            throw error(at: node, "\(what) must be \(Units.durationExpected); found \(describe(node))")
        }
        if positive && d.microseconds <= 0 { throw error(at: node, "\(what) must be longer than zero") }
        return d
    }

    func size(_ node: YAMLNode, _ what: String) throws(ScenarioError) -> Int64 {
        log?.record(node, .size, what)
        guard let s = node.scalar?.string, let v = Units.size(s) else {
            throw error(at: node, "\(what) must be \(Units.sizeExpected); found \(describe(node))")
        }
        return v
    }

    /// The interval of something that repeats through a run (checkpoints, failures, repairs,
    /// random outages, arrival bursts): at least a second, so that a run's events stay countable.
    func period(_ node: YAMLNode, _ what: String) throws(ScenarioError) -> VirtualTime {
        let d = try duration(node, what)
        guard d >= .seconds(Int64(1)) else { throw error(at: node, "\(what) repeats through the run and must be at least 1s; found \(d)") }
        return d
    }

    /// A job's checkpoint state: at most 1 PB, so that moving it at the slowest bandwidth
    /// (`Units.minBandwidth`) takes less than `Units.maxSeconds`.
    func stateSize(_ node: YAMLNode) throws(ScenarioError) -> Int64 {
        let v = try size(node, "state_size")
        guard v <= Units.maxStateBytes else { throw error(at: node, "state_size must be at most 1PB (1e15 bytes); found \(v) bytes") }
        return v
    }

    func bandwidth(_ node: YAMLNode, _ what: String) throws(ScenarioError) -> Double {
        log?.record(node, .bandwidth, what)
        guard let s = node.scalar?.string, let v = Units.bandwidth(s), v > 0 else {
            throw error(at: node, "\(what) must be \(Units.bandwidthExpected); found \(describe(node))")
        }
        guard v >= Units.minBandwidth, v <= Units.maxBandwidth else {
            throw error(at: node, "\(what) must be between 1MBps and 1PBps; found \(v.clean) bytes per second")
        }
        return v
    }

    func choice<T: RawRepresentable & CaseIterable>(_ node: YAMLNode, _ what: String, _ type: T.Type) throws(ScenarioError) -> T where T.RawValue == String {
        let options = T.allCases.map(\.rawValue)
        guard let s = node.scalar?.string, let v = T(rawValue: s) else {
            throw error(at: node, "\(what) must be one of: \(options.joined(separator: ", ")); found \(describe(node))")
        }
        return v
    }

    func describe(_ node: YAMLNode) -> String {
        switch node {
        case .scalar(let s): s.string.isEmpty ? "nothing" : "'\(s.string)'"
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .alias: "an alias"
        }
    }

    /// The allowed key within edit distance 2 of a misspelled one, if there is exactly a best one.
    /// The closest of `allowed` to a misspelt `key`, within two edits.
    static func suggestion(for key: String, among allowed: [String]) -> String? {
        let scored = allowed.map { ($0, editDistance(key, $0)) }.filter { $0.1 <= 2 }
        return scored.min { $0.1 < $1.1 }?.0
    }
}

/// A checked mapping: fields in document order, looked up by key.
struct YAMLObject {
    let node: YAMLNode
    let what: String
    let fields: [(key: String, keyNode: YAMLNode, value: YAMLNode)]
    let reader: YAMLReader

    subscript(_ key: String) -> YAMLNode? { fields.first { $0.key == key }?.value }

    func required(_ key: String) throws(ScenarioError) -> YAMLNode {
        guard let value = self[key] else { throw reader.error(at: node, "\(what) is missing required key '\(key)'") }
        return value
    }

    /// The keys present among `keys`, for one-of choices.
    func present(_ keys: [String]) -> [String] { keys.filter { self[$0] != nil } }
}

func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    var previous = Array(0...b.count)
    for i in 1...max(a.count, 1) where !a.isEmpty {
        var current = [i] + Array(repeating: 0, count: b.count)
        for j in 1...max(b.count, 1) where !b.isEmpty {
            current[j] = Swift.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        previous = current
    }
    return a.isEmpty ? b.count : previous[b.count]
}

extension String {
    var replacingTabs: String { replacingOccurrences(of: "\t", with: " ") }
}

/// The files a document refers to, collected while it is parsed (a reference type, so that the
/// parser's value-typed readers share one list).
final class ReferencedFiles: @unchecked Sendable {  // used by one parse on one thread
    var files: [ReferencedFile] = []

    /// Each file once, with the hash of its bytes as they are now.
    func hashed() -> [ReferencedFile] {
        var seen = Set<String>()
        return files.filter { seen.insert($0.path).inserted }.map { file in
            var f = file
            f.contentHash = ReferencedFile.hash(path: f.path)
            return f
        }
    }
}

/// A file a scenario or sweep refers to (a trace, a distribution, a scenario of a sweep):
/// its path as written and the FNV-1a of its bytes, which `Scenario.contentHash` includes,
/// so editing a trace changes the identity of every run that read it.
public struct ReferencedFile: Sendable, Equatable {
    /// Resolved against the referring file's folder.
    public var path: String
    /// As written in the referring file (identity does not depend on where the checkout is).
    public var given: String
    public var contentHash: String = ""

    static func hash(path: String) -> String {
        var h = StableHasher()
        if let data = FileManager.default.contents(atPath: path) { h.combine(bytes: data) } else { h.combine("(unreadable)") }
        return h.hex
    }
}
