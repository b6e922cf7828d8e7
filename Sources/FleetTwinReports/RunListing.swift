/// Text and JSON of stored runs: the table of `fleettwin runs` and the page of `fleettwin show`.
import Foundation

public enum RunListing {
    /// One line per run with its identity and headline metrics.
    public static func table(_ runs: [RunInfo]) -> String {
        let header = ["run", "scenario", "policy", "seed", "status", "completed", "utilization", "JCT p50", "JCT p95", "makespan"]
        let rows = runs.map { run -> [String] in
            func metric(_ name: String) -> String { run.metrics[name].map { MetricFormat.format(name, $0) } ?? "none" }
            return [String(run.id), run.scenario, run.policy, String(run.seed), run.status,
                    "\(metric("jobs_completed"))/\(metric("jobs_submitted"))", metric("utilization"),
                    metric("jct_p50_s"), metric("jct_p95_s"), metric("makespan_s")]
        }
        return aligned([header] + rows)
    }

    /// Every stored fact of one run, then its metrics by stored name (what SQL queries use).
    public static func detail(_ run: RunInfo) -> String {
        let events = run.storedEvents > 0 ? String(run.storedEvents) : "none (stored with outputs.event_log: false)"
        var rows: [[String]] = [
            ["run", String(run.id)], ["scenario", run.scenario], ["scenario file", run.scenarioFile],
            ["scenario hash", run.scenarioHash], ["policy", run.policy], ["seed", String(run.seed)], ["status", run.status],
            ["accelerators", String(run.capacity)], ["events processed", String(run.processedEvents)],
            ["events stored", events], ["simulated until", duration(run.endTime)], ["event log hash", run.eventLogHash],
            ["FleetTwin version", run.version], [], ["metric", "value"],
        ]
        rows += MetricFormat.ordered(Set(run.metrics.keys).union(MetricFormat.statistics)).map { name in
            [name, run.metrics[name].map { MetricFormat.format(name, $0) } ?? "none"]
        }
        return aligned(rows)
    }

    /// Sorted keys, so equal data prints equal bytes.
    public static func json(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// Columns padded to their widest cell, two spaces apart; an empty row prints as a blank line.
    public static func aligned(_ rows: [[String]]) -> String {
        let columns = rows.map(\.count).max() ?? 0
        let widths = (0..<columns).map { c in rows.map { c < $0.count ? $0[c].count : 0 }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { c, cell in
                c == row.count - 1 ? cell : cell.padding(toLength: widths[c], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }
}
