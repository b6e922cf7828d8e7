import Foundation

/// A number a scenario gives, as the parser read it: where it is, what it was read as and
/// which key it is. Tests derive their extreme-value corpus from these, so that every
/// numeric key the parser reads is covered without a hand-kept list.
public struct NumericField: Sendable, Equatable {
    /// How the parser reads the value.
    public enum Kind: String, Sendable, CaseIterable {
        case integer, number, duration, size, bandwidth
    }

    /// Where the scalar starts, 1-based, as errors give it.
    public var line: Int
    public var column: Int
    public var kind: Kind
    /// The key, as the parser names it in errors.
    public var what: String
    /// The scalar as written (plain scalars: exactly the source text at line:column).
    public var text: String
}

/// What parsing one document read: every number, and for every mapping its allowed keys
/// and the keys the document gave.
public struct SchemaUse: Sendable {
    /// In reading order; a value read twice appears twice.
    public var numbers: [NumericField]
    /// Per mapping read: the keys the parser allows there and the keys present.
    public var mappings: [(allowed: [String], present: [String])]
}

/// Collects what a `YAMLReader` reads (parsing is single-threaded).
final class SchemaLog {
    var numbers: [NumericField] = []
    var mappings: [(allowed: [String], present: [String])] = []

    func record(_ node: YAMLNode, _ kind: NumericField.Kind, _ what: String) {
        guard let mark = node.mark, let scalar = node.scalar else { return }
        numbers.append(NumericField(line: mark.line, column: mark.column, kind: kind, what: what, text: scalar.string))
    }
}

extension Scenario {
    /// Parses `text` as a scenario and reports every number and mapping the parser read, up
    /// to the first error (which is returned beside what was read before it).
    public static func schemaUse(_ text: String, file: String) -> (use: SchemaUse, error: ScenarioError?) {
        let log = SchemaLog()
        var failure: ScenarioError?
        do { _ = try ScenarioParser(reader: YAMLReader(file: file, text: text, log: log)).parse() } catch { failure = error }
        return (SchemaUse(numbers: log.numbers, mappings: log.mappings), failure)
    }
}

extension Sweep {
    /// As `Scenario.schemaUse`, for a sweep file's own keys (its scenarios are read as usual).
    public static func schemaUse(path: String) -> (use: SchemaUse, error: ScenarioError?) {
        let log = SchemaLog()
        var failure: ScenarioError?
        do { _ = try load(path: path, log: log) } catch { failure = error }
        return (SchemaUse(numbers: log.numbers, mappings: log.mappings), failure)
    }
}
