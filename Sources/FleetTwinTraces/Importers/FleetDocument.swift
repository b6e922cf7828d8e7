import Foundation

/// A fleet imported from a trace, written as a standalone YAML document whose top-level keys
/// are those of a scenario's `fleet:` section (`accelerator_types`, `regions`; see
/// Scenarios/README.md), led by comments naming the source and every assumption.
public struct FleetDocument: Equatable {
    public struct Cluster: Equatable {
        public var name: String
        public var nodes: Int
        public var acceleratorsPerNode: Int
        public var type: String
        /// CPU cores per node, written as `cpus_per_node` when known.
        public var cpusPerNode: Int? = nil
    }

    /// A type declared from a built-in `base`, for GPUs FleetTwin does not know.
    public struct DeclaredType: Equatable {
        public var name: String
        public var base: String
        public var memory: String?
        public var relativeSpeed: Double?
    }

    /// Bounds that keep counts far from overflow; no real cluster comes near them.
    static let maxNodes = 1_000_000, maxAcceleratorsPerNode = 1024

    public var comments: [String] = []
    public var declaredTypes: [DeclaredType] = []
    public var regions: [(name: String, clusters: [Cluster])] = []

    public static func == (a: FleetDocument, b: FleetDocument) -> Bool {
        a.comments == b.comments && a.declaredTypes == b.declaredTypes
            && a.regions.elementsEqual(b.regions) { $0.name == $1.name && $0.clusters == $1.clusters }
    }

    public var clusterCount: Int { regions.reduce(0) { $0 + $1.clusters.count } }
    public var nodeCount: Int { regions.reduce(0) { $0 + $1.clusters.reduce(0) { $0 + $1.nodes } } }
    public var acceleratorCount: Int { regions.reduce(0) { $0 + $1.clusters.reduce(0) { $0 + $1.nodes * $1.acceleratorsPerNode } } }

    /// "1 region, 11 clusters, 352 nodes, 2816 accelerators".
    public var size: String {
        "\(regions.count) region\(regions.count == 1 ? "" : "s"), \(clusterCount) cluster\(clusterCount == 1 ? "" : "s"), \(nodeCount) nodes, \(acceleratorCount) accelerators"
    }

    public var yaml: String {
        var lines = comments.map { "# \($0)" }
        if !declaredTypes.isEmpty {
            lines.append("accelerator_types:")
            for t in declaredTypes {
                var fields = ["name: \(t.name)", "base: \(t.base)"]
                if let m = t.memory { fields.append("memory: \(m)") }
                if let s = t.relativeSpeed { fields.append("relative_speed: \(s)") }
                lines.append("  - { \(fields.joined(separator: ", ")) }")
            }
        }
        lines.append("regions:")
        for region in regions {
            lines.append("  - name: \(region.name)")
            lines.append("    clusters:")
            for c in region.clusters {
                lines.append("      - { name: \(c.name), nodes: \(c.nodes), accelerators_per_node: \(c.acceleratorsPerNode), type: \(c.type)"
                             + (c.cpusPerNode.map { ", cpus_per_node: \($0)" } ?? "") + " }")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Writes the YAML; returns the result with the document's size as the last note.
    func write(to path: String, report: ImportReport, notes: [String]) throws -> ImportResult {
        guard regions.contains(where: { !$0.clusters.isEmpty }) else {
            throw TraceError(file: path, line: 0, message: "no clusters to write: every row was skipped")
        }
        guard FileManager.default.createFile(atPath: path, contents: Data(yaml.utf8)) else {
            throw TraceError(file: path, line: 0, message: "cannot create the fleet file")
        }
        // Its rows became the fleet, not jobs: "rows read 3, rows used 2, rows skipped 1".
        var report = report
        report.writtenName = "\(report.unit) used"
        return ImportResult(out: path, report: report, notes: notes + ["fleet: \(size)"])
    }

    /// A YAML-safe cluster or region name: lowercase letters, digits and dashes.
    static func slug(_ text: String) -> String {
        let mapped = text.lowercased().unicodeScalars.map { ("a"..."z").contains($0) || ("0"..."9").contains($0) ? Character($0) : "-" }
        return String(mapped)
    }
}
