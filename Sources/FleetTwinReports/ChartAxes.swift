/// Axis builders: "nice" linear ticks, time axes in the unit that suits the span, and the
/// log-scale time axis of the JCT CDF (decade ticks, minute/hour/day landmarks).
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
        let target = max(upper, 1e-9) / 5
        let magnitude = pow(10, floor(log10(target)))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= target } ?? 10 * magnitude
        let decimals = max(0, -Int(floor(log10(step) + 1e-9)))
        return ((upper / step - 1e-9).rounded(.up) * step, step, decimals)
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
        let low = Int(floor(log10(max(minimum, 1e-3))))
        let high = max(low + 1, Int(ceil(log10(max(maximum, 1e-3)))))
        let ticks = (low...high).map { Tick(value: pow(10, Double($0)), label: decadeLabel($0)) }
        let minor = (low..<high).flatMap { k in (2...9).map { Double($0) * pow(10, Double(k)) } }
        let landmarks = [Tick(value: 60, label: "1 min"), Tick(value: 3600, label: "1 h"), Tick(value: 86_400, label: "1 d"),
                         Tick(value: 604_800, label: "1 w")]
            .filter { $0.value > pow(10, Double(low)) && $0.value < pow(10, Double(high)) }
        return Axis(scale: .log(lowerDecade: low, upperDecade: high), title: title, ticks: ticks, minorTicks: minor,
                    landmarks: landmarks)
    }

    /// `0.1 s`, `1 s`, `10 s`, `100 s`, `1000 s`, then `10⁴ s`.
    static func decadeLabel(_ k: Int) -> String {
        if k >= 0 && k <= 3 { return String(Int(pow(10, Double(k)))) + " s" }
        if k < 0 && k >= -3 { return fixed(pow(10, Double(k)), -k) + " s" }
        let superscripts: [Character: Character] = ["-": "⁻", "0": "⁰", "1": "¹", "2": "²", "3": "³", "4": "⁴",
                                                    "5": "⁵", "6": "⁶", "7": "⁷", "8": "⁸", "9": "⁹"]
        return "10" + String(String(k).map { superscripts[$0] ?? $0 }) + " s"
    }
}
