/// Axis builders: "nice" linear ticks (from zero, or over a data span), time axes in the unit
/// that suits the span, the log-scale time axis of the JCT CDF (decade ticks, minute/hour/day
/// landmarks) and log-scale count axes (model sizes in parameters).
import Foundation

/// A unit of time for axis titles and tick labels.
struct TimeUnit: Equatable {
    var name: String
    var seconds: Double

    static let second = TimeUnit(name: "s", seconds: 1)
    static let minute = TimeUnit(name: "min", seconds: 60)
    static let hour = TimeUnit(name: "h", seconds: 3600)
    static let day = TimeUnit(name: "d", seconds: 86_400)

    /// The largest unit in which `span` seconds is still at least two units long.
    static func suiting(_ span: Double) -> TimeUnit {
        [day, hour, minute].first { span >= 2 * $0.seconds } ?? second
    }
}

enum Axes {
    /// Ticks at 1, 2 or 5 x 10^k covering [0, upper] with about five steps; returns the
    /// rounded-up upper bound too.
    static func niceTicks(upTo upper: Double) -> (upper: Double, step: Double, decimals: Int) {
        let (step, decimals) = niceStep(max(upper, 1e-9) / 5)
        return ((upper / step - 1e-9).rounded(.up) * step, step, decimals)
    }

    /// The smallest step of 1, 2 or 5 x 10^k at least `target`, and the decimals its labels need.
    static func niceStep(_ target: Double) -> (step: Double, decimals: Int) {
        let magnitude = pow(10, floor(log10(target)))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= target } ?? 10 * magnitude
        return (step, max(0, -Int(floor(log10(step) + 1e-9))))
    }

    /// A linear axis over about [low, high], widened to whole nice steps (about five), for data
    /// that does not start at zero (a metric's range over model sizes); `includeZero` widens
    /// it to zero too (bars of either sign). An empty span is widened around its value. Labels
    /// are the values divided by `divisor` (100 with suffix `%` for shares as percentages).
    static func span(_ low: Double, _ high: Double, title: String, includeZero: Bool = false, divisor: Double = 1,
                     suffix: String = "") -> Axis {
        var lower = (includeZero ? min(low, 0) : low) / divisor, upper = (includeZero ? max(high, 0) : high) / divisor
        if upper - lower < 1e-12 {
            let pad = max(abs(upper) * 0.05, 0.01)
            (lower, upper) = (lower - (lower == 0 && includeZero ? 0 : pad), upper + pad)
        }
        let (step, decimals) = niceStep((upper - lower) / 5)
        let first = Int((lower / step + 1e-9).rounded(.down)), last = Int((upper / step - 1e-9).rounded(.up))
        let ticks = (first...max(last, first + 1)).map {
            Tick(value: Double($0) * step * divisor, label: fixed(Double($0) * step, decimals) + suffix)
        }
        return Axis(scale: .linear(lower: ticks.first!.value, upper: ticks.last!.value), title: title, ticks: ticks)
    }

    /// A linear axis from 0 to at least `upper` (data units), labels scaled by `divisor`.
    static func linear(upTo upper: Double, title: String, divisor: Double = 1, suffix: String = "") -> Axis {
        let nice = niceTicks(upTo: upper / divisor)
        let count = Int((nice.upper / nice.step).rounded())
        let ticks = (0...max(count, 1)).map { i -> Tick in
            let value = Double(i) * nice.step
            return Tick(value: value * divisor, label: fixed(value, nice.decimals) + suffix)
        }
        return Axis(scale: .linear(lower: 0, upper: max(nice.upper, nice.step) * divisor), title: title, ticks: ticks)
    }

    /// Simulated time from 0 to `end` seconds, in the unit that suits the span.
    static func time(upTo end: Double, title: String) -> Axis {
        let unit = TimeUnit.suiting(end)
        return linear(upTo: max(end, 1), title: "\(title) (\(unit.name))", divisor: unit.seconds)
    }

    /// A fraction shown as 0-100 %.
    static func percent(title: String) -> Axis {
        let ticks = stride(from: 0, through: 100, by: 20).map { Tick(value: Double($0) / 100, label: "\($0)%") }
        return Axis(scale: .linear(lower: 0, upper: 1), title: title, ticks: ticks)
    }

    /// Durations from `minimum` to `maximum` seconds on a base-10 log scale: a labelled tick
    /// at each power of ten (in seconds), minor ticks at 2-9 x 10^k, and dashed landmarks at
    /// 1 min, 1 h and 1 d where they fall inside.
    static func logTime(from minimum: Double, to maximum: Double, title: String) -> Axis {
        var axis = logDecades(from: max(minimum, 1e-3), to: max(maximum, 1e-3), title: title, label: decadeLabel)
        guard case let .log(low, high) = axis.scale else { return axis }
        axis.landmarks = [Tick(value: 60, label: "1 min"), Tick(value: 3600, label: "1 h"), Tick(value: 86_400, label: "1 d"),
                          Tick(value: 604_800, label: "1 w")]
            .filter { $0.value > pow(10, Double(low)) && $0.value < pow(10, Double(high)) }
        return axis
    }

    /// Positive values from `minimum` to `maximum` on a base-10 log scale: a tick labelled
    /// `label(k)` at each power of ten 10^k, minor ticks at 2-9 x 10^k.
    static func logDecades(from minimum: Double, to maximum: Double, title: String, label: (Int) -> String) -> Axis {
        let low = Int(floor(log10(minimum)))
        let high = max(low + 1, Int(ceil(log10(maximum))))
        let ticks = (low...high).map { Tick(value: pow(10, Double($0)), label: label($0)) }
        let minor = (low..<high).flatMap { k in (2...9).map { Double($0) * pow(10, Double(k)) } }
        return Axis(scale: .log(lowerDecade: low, upperDecade: high), title: title, ticks: ticks, minorTicks: minor)
    }

    /// Counts on a log axis: `1`, `10`, `100`, `1k`, `10k`, `100k`, `1M`, ... (`10⁻¹` below one).
    static func countLabel(_ k: Int) -> String {
        guard k >= 0 else { return "10" + superscript(k) }
        let suffixes = ["", "k", "M", "G", "T"]
        guard k / 3 < suffixes.count else { return "10" + superscript(k) }
        return String(Int(pow(10, Double(k % 3)))) + suffixes[k / 3]
    }

    /// `0.1 s`, `1 s`, `10 s`, `100 s`, `1000 s`, then `10⁴ s`.
    static func decadeLabel(_ k: Int) -> String {
        if k >= 0 && k <= 3 { return String(Int(pow(10, Double(k)))) + " s" }
        if k < 0 && k >= -3 { return fixed(pow(10, Double(k)), -k) + " s" }
        return "10" + superscript(k) + " s"
    }

    /// `-3` as `⁻³`.
    static func superscript(_ k: Int) -> String {
        let superscripts: [Character: Character] = ["-": "⁻", "0": "⁰", "1": "¹", "2": "²", "3": "³", "4": "⁴",
                                                    "5": "⁵", "6": "⁶", "7": "⁷", "8": "⁸", "9": "⁹"]
        return String(String(k).map { superscripts[$0] ?? $0 })
    }
}
