import Foundation
import Yams

/// A knob of `fleettwin tune`: a value of the scenario, named by its keys, and the values to
/// try. `fleet.c.nodes=1..64` names the `nodes` of the cluster named `c`: a path segment that
/// is not a key of the mapping it reaches names the list element (at any depth below) whose
/// `name` it is, so clusters, regions and outages are named as the scenario names them.
public struct Knob: Sendable, Equatable {
    /// Dotted keys: `fleet.c.nodes`, `mechanisms.checkpoint_interval.premium`, `policy.quantum`.
    public var path: String
    /// As YAML scalars, in the order tried: `1..4` gives 1, 2, 3, 4; `30m,1h,2h` gives those.
    public var values: [String]

    /// Parses `NAME=RANGE` (`a..b`, integers, at most 10,000 values) or `NAME=v1,v2,...`
    /// (each value once).
    /// - Throws: `KnobError` saying what was expected.
    public init(parsing text: String) throws(KnobError) {
        guard let eq = text.firstIndex(of: "="), eq != text.startIndex else {
            throw KnobError("--knob \(text): expected NAME=RANGE, such as fleet.c.nodes=1..64 or policy.quantum=0s,1m,5m")
        }
        path = String(text[..<eq]).trimmingWhitespace
        let range = String(text[text.index(after: eq)...]).trimmingWhitespace
        let bounds = range.components(separatedBy: "..")
        if bounds.count == 2 {
            guard let low = Int(bounds[0]), let high = Int(bounds[1]), low <= high, high - low < 10_000 else {
                throw KnobError("--knob \(text): a range must be two integers low..high, low <= high, at most 10,000 values")
            }
            values = (low...high).map(String.init)
        } else {
            values = range.split(separator: ",").map { String($0).trimmingWhitespace }
            guard !values.isEmpty, !values.contains(where: \.isEmpty) else {
                throw KnobError("--knob \(text): expected values after '=', as a range 1..64 or a list 30m,1h")
            }
            // The same setting twice would be one candidate run twice under one sweep unit.
            for (i, value) in values.enumerated() where values[..<i].contains(value) {
                throw KnobError("--knob \(text): the value \(value) is given twice; expected each value once")
            }
        }
        guard !path.isEmpty, !path.split(separator: ".").contains(where: \.isEmpty) else {
            throw KnobError("--knob \(text): the name must be dotted keys of the scenario, such as fleet.c.nodes")
        }
    }
}

/// A knob that cannot be parsed or applied.
public struct KnobError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

extension Knob {
    /// Refuses a knob named twice (`--knob fleet.c.nodes=4..5 --knob fleet.c.nodes=6..7`):
    /// its combinations would set one value twice and never try the first knob's values.
    /// - Throws: `KnobError` naming the knob and how to give its values in one.
    public static func checkDistinct(_ knobs: [Knob]) throws(KnobError) {
        for (i, knob) in knobs.enumerated() where knobs[..<i].contains(where: { $0.path == knob.path }) {
            throw KnobError("--knob \(knob.path) is given twice; expected each knob once, its values in one list (\(knob.path)=4,5,6 or 4..6)")
        }
    }
}

extension Scenario {
    /// The scenario with each knob set to its value: the values are replaced in the scenario's
    /// own text (comments and layout kept, a last line naming the settings), which is parsed
    /// and validated again, so what is stored with a run is exactly what ran. Paths are
    /// resolved against the original file.
    /// - Throws: `KnobError` when a knob names no value of the scenario; `ScenarioError`
    ///   when a value makes the scenario invalid.
    public func setting(_ settings: [(path: String, value: String)]) throws -> Scenario {
        let root: Node
        do {
            guard let composed = try Yams.compose(yaml: text) else { throw KnobError("\(file) is empty") }
            root = composed
        } catch let error as KnobError { throw error } catch { throw KnobError("\(file): \(error)") }
        // Replace from the end of the text backwards, so earlier positions stay valid.
        var edits: [(line: Int, column: Int, length: Int, value: String)] = []
        for (path, value) in settings {
            let node = try Self.node(at: path.split(separator: ".").map(String.init), in: root, file: file)
            guard let scalar = node.scalar, let mark = scalar.mark else {
                throw KnobError("knob \(path): \(file) has a \(Self.kind(node)) there, not a single value")
            }
            let length: Int
            switch scalar.style {
            case .singleQuoted, .doubleQuoted: length = scalar.string.count + 2
            default: length = scalar.string.count
            }
            edits.append((mark.line, mark.column, length, value))
        }
        var lines = text.components(separatedBy: "\n")
        for edit in edits.sorted(by: { ($0.line, $0.column) > ($1.line, $1.column) }) {
            var chars = Array(lines[edit.line - 1])
            let start = edit.column - 1
            chars.replaceSubrange(start..<min(chars.count, start + edit.length), with: Array(edit.value))
            lines[edit.line - 1] = String(chars)
        }
        // A last line names the settings; appended, so errors keep the original line numbers.
        let note = "# tune: " + settings.map { "\($0.path)=\($0.value)" }.joined(separator: " ")
        let body = lines.joined(separator: "\n")
        return try Scenario.parse(body + (body.hasSuffix("\n") ? "" : "\n") + note + "\n", file: file)
    }

    static func kind(_ node: Node) -> String {
        switch node {
        case .mapping: "mapping"
        case .sequence: "list"
        default: "value"
        }
    }

    /// The node a dotted path names (see `Knob`).
    static func node(at path: [String], in root: Node, file: String) throws -> Node {
        var node = root
        var walked: [String] = []
        for segment in path {
            walked.append(segment)
            if case .mapping(let mapping) = node, let next = mapping[segment] {
                node = next
            } else if case .sequence(let list) = node, let index = Int(segment), list.indices.contains(index) {
                node = list[index]
            } else {
                let named = Self.named(segment, under: node)
                guard named.count == 1 else {
                    let at = walked.dropLast().joined(separator: ".")
                    let line = node.mark.map { ":\($0.line)" } ?? ""
                    if !named.isEmpty {
                        throw KnobError("knob \(path.joined(separator: ".")): \(file)\(line) has \(named.count) elements named '\(segment)' under \(at.isEmpty ? "the top level" : at); name the list they are in")
                    }
                    // What could be named here: the mapping's keys and the names below it.
                    var choices: [String] = []
                    if case .mapping(let mapping) = node { choices += mapping.keys.compactMap { $0.scalar?.string } }
                    choices += Self.names(under: node).filter { !choices.contains($0) }
                    let hint = YAMLReader.suggestion(for: segment, among: choices).map { " (did you mean '\($0)'?)" } ?? ""
                    throw KnobError("knob \(path.joined(separator: ".")): \(file)\(line) has no key or named element '\(segment)' under \(at.isEmpty ? "the top level" : at)\(hint); expected one of: \(choices.joined(separator: ", ")) (a knob changes a value the scenario states)")
                }
                node = named[0]
            }
        }
        return node
    }

    /// The `name` of every mapping under `node` that has one, once each, in document order.
    static func names(under node: Node) -> [String] {
        var names: [String] = []
        for (name, _) in namedMappings(under: node) where !names.contains(name) { names.append(name) }
        return names
    }

    /// Mappings with `name: segment` anywhere under `node`, in document order.
    static func named(_ segment: String, under node: Node) -> [Node] {
        namedMappings(under: node).filter { $0.name == segment }.map(\.node)
    }

    /// Every mapping under `node` (not `node` itself) that has a `name`, in document order.
    static func namedMappings(under node: Node) -> [(name: String, node: Node)] {
        var found: [(name: String, node: Node)] = []
        func visit(_ n: Node, isRoot: Bool) {
            switch n {
            case .mapping(let mapping):
                if !isRoot, let name = mapping["name"]?.scalar?.string { found.append((name, n)) }
                for (_, value) in mapping { visit(value, isRoot: false) }
            case .sequence(let list):
                for element in list { visit(element, isRoot: false) }
            default:
                break
            }
        }
        visit(node, isRoot: true)
        return found
    }

    /// Accelerators of the fleet: the cost `tune --minimize accelerators` minimises.
    public var accelerators: Int { fleet.clusters.reduce(0) { $0 + $1.accelerators } }
}
