import Foundation

/// Fixed-decimal formatting: `String(format:)` with a C locale format is the same in every
/// process, so reports stay byte-identical. Negative zero prints as zero.
func fixed(_ value: Double, _ decimals: Int) -> String {
    let text = String(format: "%.\(decimals)f", value)
    return text.hasPrefix("-") && Double(text) == 0 ? String(text.dropFirst()) : text
}

/// Text safe inside XML/HTML element content and attribute values.
func escaped(_ text: String) -> String {
    var out = ""
    out.reserveCapacity(text.count)
    for c in text {
        switch c {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        default: out.append(c)
        }
    }
    return out
}

/// Names and units of stored metrics, for tables. Unknown names print as stored.
public enum MetricFormat {
    /// Known headline metrics in the order tables list them, with readable labels.
    public static let headline: [(name: String, label: String)] = [
        ("jobs_submitted", "jobs submitted"), ("jobs_completed", "jobs completed"),
        ("utilization", "utilization"), ("goodput_utilization", "goodput utilization"),
        ("makespan_s", "makespan"),
        ("jct_mean_s", "JCT mean"), ("jct_p50_s", "JCT p50"), ("jct_p95_s", "JCT p95"), ("jct_p99_s", "JCT p99"),
        ("queue_delay_mean_s", "queueing delay mean"), ("queue_delay_p50_s", "queueing delay p50"),
        ("queue_delay_p95_s", "queueing delay p95"), ("queue_delay_p99_s", "queueing delay p99"),
        ("queue_delay_censored_mean_s", "queueing delay mean, censored"), ("queue_delay_censored_p50_s", "queueing delay p50, censored"),
        ("queue_delay_censored_p95_s", "queueing delay p95, censored"), ("queue_delay_censored_p99_s", "queueing delay p99, censored"),
        ("still_waiting", "jobs still waiting at the end"), ("still_running", "jobs still running at the end"),
        ("energy_kwh", "energy"), ("peak_power_kw", "peak power"), ("mean_power_kw", "mean power"),
        ("accelerator_seconds", "accelerator time allocated"),
        ("idle_while_waiting_accelerator_seconds", "idle while a waiting job fit"),
        ("inference_requests", "batch inference: requests served"),
        ("inference_requests_per_second", "batch inference: requests per second per job"),
        ("inference_accelerator_seconds_per_1k_requests", "batch inference: per 1,000 requests"),
    ]

    /// Distribution metrics a run may lack (no job completed, none started); stored runs
    /// list them as none (null in JSON) rather than leave them out.
    public static let statistics: [String] = ["jct", "queue_delay", "queue_delay_censored"].flatMap { name in
        ["mean", "p50", "p95", "p99"].map { "\(name)_\($0)_s" }
    }

    /// Metric names in table order: the known headline ones first, then the rest by name.
    public static func ordered(_ names: some Sequence<String>) -> [String] {
        let present = Set(names)
        let known = headline.map(\.name).filter(present.contains)
        return known + present.subtracting(known).sorted()
    }

    public static func label(_ name: String) -> String {
        headline.first { $0.name == name }?.label ?? name
    }

    /// A stored value with its unit: durations for `_s` and `overhead_seconds_` names,
    /// percentages for fractions, whole numbers for counts.
    public static func format(_ name: String, _ value: Double) -> String {
        if name.hasSuffix("_s") || name.hasPrefix("overhead_seconds_") { return duration(value) }
        if name.contains("utilization") || name.hasPrefix("sla_attainment_") { return fixed(value * 100, 1) + "%" }
        if name.hasSuffix("accelerator_seconds") {
            // Hours for fleets, seconds for the small runs hours would round to zero.
            return value >= 360 ? fixed(value / 3600, 1) + " accelerator-h" : fixed(value, 1) + " accelerator-s"
        }
        if name.hasSuffix("_per_second") { return fixed(value, 1) + " /s" }
        if name.hasSuffix("_per_1k_requests") { return fixed(value, 3) + " accelerator-s" }
        if name.hasSuffix("_kwh") { return fixed(value, 1) + " kWh" }
        if name.hasSuffix("_kw") { return fixed(value, 1) + " kW" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return fixed(value, 3)
    }
}
