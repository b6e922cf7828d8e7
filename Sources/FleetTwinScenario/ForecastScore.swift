import FleetTwinMetrics

/// How good a twin's start forecasts were, once the jobs really started: every forecast made
/// (at some observation, for some pending job) set against the job's actual start, as the
/// live twin scores itself (../shared/research/live-twin.md, "score forecasts"). Seconds.
public struct ForecastScore: Sendable, Equatable, Codable {
    /// One forecast: made at `at` for job `id`, with its median and p10-p90 interval (Unix s).
    public struct Forecast: Sendable, Equatable {
        public var at: Double
        public var id: String
        public var p10: Double
        public var p50: Double
        public var p90: Double

        public init(at: Double, id: String, p10: Double, p50: Double, p90: Double) {
            self.at = at
            self.id = id
            self.p10 = p10
            self.p50 = p50
            self.p90 = p90
        }
    }

    /// Forecasts whose job has started, scored.
    public var forecasts: Int
    public var medianAbsStartErrorSeconds: Double?
    public var p90AbsStartErrorSeconds: Double?
    /// Share of actual starts inside [p10, p90] (calibration: about 0.8 when honest).
    public var coverageP10P90: Double?
    /// The same scores for the baseline's forecasts, when one is given.
    public var baseline: Baseline?
    /// The same for the scheduler's own estimates (squeue's `start_time` of pending jobs).
    public var slurmEstimate: Baseline?

    public struct Baseline: Sendable, Equatable, Codable {
        public var name: String
        public var forecasts: Int
        public var medianAbsStartErrorSeconds: Double?
        public var p90AbsStartErrorSeconds: Double?
        public var coverageP10P90: Double?
    }

    /// Scores `forecasts` against `actualStarts` (job id to Unix seconds; jobs that never
    /// started are left out), and the baseline's the same way.
    public init(forecasts: [Forecast], actualStarts: [String: Double], baseline: (name: String, forecasts: [Forecast])? = nil) {
        let own = Self.scores(forecasts, actualStarts)
        self.forecasts = own.count
        medianAbsStartErrorSeconds = own.median
        p90AbsStartErrorSeconds = own.p90
        coverageP10P90 = own.coverage
        self.baseline = baseline.map { b in
            let s = Self.scores(b.forecasts, actualStarts)
            return Baseline(name: b.name, forecasts: s.count, medianAbsStartErrorSeconds: s.median, p90AbsStartErrorSeconds: s.p90,
                            coverageP10P90: s.coverage)
        }
    }

    /// These scores under a baseline's name.
    public func asBaseline(named name: String) -> Baseline {
        Baseline(name: name, forecasts: forecasts, medianAbsStartErrorSeconds: medianAbsStartErrorSeconds,
                 p90AbsStartErrorSeconds: p90AbsStartErrorSeconds, coverageP10P90: coverageP10P90)
    }

    static func scores(_ forecasts: [Forecast], _ actual: [String: Double]) -> (count: Int, median: Double?, p90: Double?, coverage: Double?) {
        var errors: [Double] = [], inside = 0
        for f in forecasts {
            guard let start = actual[f.id] else { continue }
            errors.append(abs(f.p50 - start))
            if start >= f.p10 && start <= f.p90 { inside += 1 }
        }
        guard !errors.isEmpty else { return (0, nil, nil, nil) }
        let sorted = errors.sorted()
        func rank(_ p: Double) -> Double? { Distribution.nearestRank(sorted, p) }
        return (errors.count, rank(0.5), rank(0.9), Double(inside) / Double(errors.count))
    }
}
