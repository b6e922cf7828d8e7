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
    /// The series' horizon (seconds): each forecast's series is scored at the polls observed
    /// after it up to this long after it (`scoreSeries`); nil when no series was scored.
    public var seriesHorizonSeconds: Double?
    /// (forecast, later poll) pairs the series MAEs average over.
    public var seriesPoints: Int?
    /// Mean absolute error of the predicted GPUs waiting, over `seriesPoints` (`scoreSeries`).
    public var pendingGPUSeriesMAE: Double?
    /// Mean absolute error of the predicted jobs running, over `seriesPoints`.
    public var runningJobSeriesMAE: Double?
    /// The series' persistence baseline: the counts at the forecast held unchanged (no start
    /// errors: it never starts a job).
    public var persistence: Baseline?

    public struct Baseline: Sendable, Equatable, Codable {
        public var name: String
        public var forecasts: Int
        public var medianAbsStartErrorSeconds: Double?
        public var p90AbsStartErrorSeconds: Double?
        public var coverageP10P90: Double?
        /// As `ForecastScore.pendingGPUSeriesMAE`, for this baseline's series.
        public var pendingGPUSeriesMAE: Double?
        /// As `ForecastScore.runningJobSeriesMAE`, for this baseline's series.
        public var runningJobSeriesMAE: Double?
    }

    /// One forecast's predicted series with what the mirror observed after it: the counts of
    /// the jobs open at the forecast (pending or running then, GPU jobs only), at each later
    /// poll. Jobs submitted after the forecast are in neither side: no forecaster here
    /// predicts arrivals. Times are Unix µs.
    public struct SeriesForecast: Sendable, Equatable {
        /// When the forecast was made: the series' origin.
        public var at: Int64
        /// The forecast's series, offsets from `at`.
        public var predicted: JobCountSeries
        /// The later polls' times and the observed counts then (offsets unused), in time order.
        public var observed: [(time: Int64, counts: JobCountSeries.Point)]

        /// A forecast made at `at` with what was observed after it.
        public init(at: Int64, predicted: JobCountSeries, observed: [(time: Int64, counts: JobCountSeries.Point)]) {
            self.at = at
            self.predicted = predicted
            self.observed = observed
        }

        /// Equal forecasts: same origin, series and observations (tuples are not Equatable).
        public static func == (a: Self, b: Self) -> Bool {
            a.at == b.at && a.predicted == b.predicted && a.observed.map(\.time) == b.observed.map(\.time)
                && a.observed.map(\.counts) == b.observed.map(\.counts)
        }
    }

    /// Scores the series: at each forecast, the predicted count of GPUs waiting and of jobs
    /// running at every poll observed after it (time in (at, at + `horizon`], µs), against the
    /// counts observed then; each MAE is the mean of |predicted - observed| over all those
    /// (forecast, poll) pairs, pooled. `twin` sets this score's MAEs, `limits` the baseline's
    /// (when there is one), and `persistence` adds that baseline: each forecast's counts at
    /// its own observation, held.
    public mutating func scoreSeries(twin: [SeriesForecast], limits: [SeriesForecast], horizon: Int64,
                                     persistence atForecast: [JobCountSeries.Point]) {
        func mae(_ forecasts: [SeriesForecast]) -> (pairs: Int, pending: Double?, running: Double?) {
            var pairs = 0, pending = 0, running = 0
            for f in forecasts {
                for o in f.observed where o.time > f.at && o.time - f.at <= horizon {
                    guard let p = f.predicted.value(at: o.time - f.at) else { continue }
                    pairs += 1
                    pending += abs(p.pendingGPUs - o.counts.pendingGPUs)
                    running += abs(p.runningJobs - o.counts.runningJobs)
                }
            }
            return pairs == 0 ? (0, nil, nil) : (pairs, Double(pending) / Double(pairs), Double(running) / Double(pairs))
        }
        let own = mae(twin)
        seriesHorizonSeconds = Double(horizon) / 1e6
        seriesPoints = own.pairs
        pendingGPUSeriesMAE = own.pending
        runningJobSeriesMAE = own.running
        if !limits.isEmpty, baseline != nil {
            let b = mae(limits)
            baseline?.pendingGPUSeriesMAE = b.pending
            baseline?.runningJobSeriesMAE = b.running
        }
        let held = zip(twin, atForecast).map { f, now in
            SeriesForecast(at: f.at, predicted: JobCountSeries(points: [JobCountSeries.Point(offset: 0, pendingGPUs: now.pendingGPUs, runningJobs: now.runningJobs)]),
                           observed: f.observed)
        }
        let p = mae(held)
        persistence = Baseline(name: "counts held at the forecast's (persistence)", forecasts: held.count,
                               pendingGPUSeriesMAE: p.pending, runningJobSeriesMAE: p.running)
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
