import FleetTwinMetrics
import FleetTwinReports
import FleetTwinScenario
@testable import FleetTwinStore
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing

/// A database in a fresh directory holding `scenario` (the fifo-hand fixture) run `count`
/// times (ids 1...). Unless `keepMechanismMetrics`, the rows of the
/// optional report sections (SLA, overhead, energy, goodput) are deleted, so tests can add
/// exactly the ones they mean to show.
func databaseWithHandRuns(_ count: Int, scenario: String = fixture("fifo-hand.yaml"),
                          keepMechanismMetrics: Bool = false) throws -> (dir: URL, db: String) {
    let dir = try temporaryDirectory()
    let db = dir.appendingPathComponent("r.sqlite").path
    for seed in 1...max(1, count) {
        let out = try runFleettwin(["run", scenario, "--seed", String(seed), "--db", db])
        #expect(out.status == 0, "\(out.stderr)")
    }
    if !keepMechanismMetrics {
        try ResultStore(path: db).database.write { db in
            try db.execute(sql: """
                DELETE FROM metrics WHERE name LIKE 'sla\\_%' ESCAPE '\\' OR name LIKE 'overhead\\_%' ESCAPE '\\'
                    OR name IN ('energy_kwh', 'peak_power_kw', 'goodput_utilization')
                """)
        }
    }
    return (dir, db)
}

/// Runs `fleettwin report` and returns the HTML it wrote.
func report(_ arguments: [String], db: String, in dir: URL) throws -> String {
    let path = dir.appendingPathComponent("report-\(UUID().uuidString).html").path
    let out = try runFleettwin(["report"] + arguments + ["--db", db, "--out", path])
    #expect(out.status == 0, "\(out.stderr)")
    return try String(contentsOfFile: path, encoding: .utf8)
}

/// Points of each `<polyline class="series KIND" data-run="ID">`, by run id, in document order.
func polylines(_ kind: String, in html: String) throws -> [(run: Int, points: Int)] {
    let pattern = try Regex(#"<polyline class="series "# + kind + #"" data-run="(\d+)" points="([^"]*)""#)
    return html.matches(of: pattern).map { match in
        (Int(match.output[1].substring!)!, match.output[2].substring!.split(separator: " ").count)
    }
}

func occurrences(_ needle: String, in text: String) -> Int {
    text.components(separatedBy: needle).count - 1
}

@Suite struct QueueLengthAndCDFTests {
    /// By hand (see FIFOTests): A submits and starts at 0; B waits from 1; C and D from 2;
    /// at 10 A ends and B starts; at 15 B ends and C, D start; E arrives to an idle fleet at
    /// 20 and starts at once (no change); the log ends at 22.
    @Test func queueLengthOfTheHandFixture() async throws {
        let scenario = try Scenario.load(path: fixture("fifo-hand.yaml"))
        let result = try await runScenario(scenario)
        let expected = [(0.0, 0), (1, 1), (2, 3), (10, 2), (15, 0), (22, 0)].map { QueueLengthPoint(time: $0.0, length: $0.1) }
        #expect(QueueLengthPoint.series(result.log.records) == expected)
        // The same from the stored event log.
        let store = try ResultStore()
        let id = try store.store(.init(
            scenarioName: scenario.name, scenarioFile: scenario.file, scenarioHash: scenario.contentHash,
            scenarioText: scenario.text, seed: 1, policy: result.policy, version: "test", result: result,
            metrics: RunMetrics.fold(result), storeEvents: true))
        #expect(QueueLengthPoint.series(try store.events(run: id)) == expected)
    }

    @Test func wilsonIntervalMatchesPublishedValues() throws {
        let eightOfTen = try #require(WilsonInterval(successes: 8, trials: 10))
        #expect(abs(eightOfTen.low - 0.4902) < 1e-4 && abs(eightOfTen.high - 0.9433) < 1e-4)
        let none = try #require(WilsonInterval(successes: 0, trials: 10))
        #expect(none.low == 0 && abs(none.high - 0.2775) < 1e-4)
        #expect(WilsonInterval(successes: 1, trials: 0) == nil)
    }

    @Test func progressLineText() {
        let text = ProgressText.line(simulatedSeconds: 3 * 3600 + 720, processedEvents: 90_000, jobsCompleted: 100,
                                     jobsTotal: 300, elapsedSeconds: 2)
        #expect(text == "simulated 3h12m · jobs done 100 of 300 · 45000 events/s · ETA 4.0s")
    }
}

@Suite struct HTMLReportTests {
    @Test func oneCDFAndQueueLinePerRunWithTheRightPointsAndWellFormedMarkup() throws {
        let (dir, db) = try databaseWithHandRuns(2)
        let html = try report(["1", "2"], db: db, in: dir)
        // JCTs 10, 14, 14, 16, 2: four distinct values, two points each.
        #expect(try polylines("cdf", in: html).map { [$0.run, $0.points] } == [[1, 8], [2, 8]])
        // Six queue-length points drawn as steps: 2 x 6 - 1 points.
        #expect(try polylines("queue", in: html).map { [$0.run, $0.points] } == [[1, 11], [2, 11]])
        #expect(try polylines("utilization", in: html).map(\.run) == [1, 2])
        #expect(occurrences("<svg ", in: html) == 3 && occurrences("</svg>", in: html) == 3)
        for heading in ["Job completion time", "Utilization over time", "Queue length over time", "Headline metrics", "Scenario"] {
            #expect(html.contains("<h2>\(heading)</h2>"), "missing \(heading)")
        }
        #expect(html.contains("seconds, log scale") && html.contains("simulated time (s)") && html.contains("jobs waiting (count)"))
        // Offline: no scripts, and the only URLs are the SVG namespace names.
        #expect(!html.contains("<script"))
        #expect(occurrences("http", in: html) == occurrences("xmlns=\"http://www.w3.org/2000/svg\"", in: html))
        let parser = XMLParser(data: Data(html.utf8))
        #expect(parser.parse(), "not well-formed: \(String(describing: parser.parserError))")
    }

    @Test func sameRunsGiveByteIdenticalReportsAcrossProcesses() throws {
        let dir = try temporaryDirectory()
        let db = dir.appendingPathComponent("q.sqlite").path
        let quickstart = repositoryRoot.appendingPathComponent("Scenarios/quickstart.yaml").path
        for seed in ["42", "7"] { #expect(try runFleettwin(["run", quickstart, "--seed", seed, "--db", db]).status == 0) }
        let first = try report(["1", "2"], db: db, in: dir)
        let second = try report(["1", "2"], db: db, in: dir)
        #expect(first == second)
        #expect(try polylines("cdf", in: first).map(\.points).allSatisfy { $0 > 100 })
    }

    @Test func storedMetricsSectionsAppearOnlyWhenTheirRowsExist() throws {
        let (dir, db) = try databaseWithHandRuns(1)
        let plain = try report(["1"], db: db, in: dir)
        for absent in ["SLA attainment", "Overhead by mechanism", "Energy and power", "goodput", "class=\"interval\""] {
            #expect(!plain.contains(absent), "\(absent) shown without its metrics")
        }
        try ResultStore(path: db).addMetrics(run: 1, [
            ("sla_jobs_premium", 10), ("sla_met_premium", 8), ("sla_attainment_basic", 0.5),
            ("overhead_seconds_checkpoint", 120), ("overhead_seconds_restore", 30),
            ("energy_kwh", 3.5), ("peak_power_kw", 1.2), ("goodput_utilization", 0.4),
        ])
        let full = try report(["1"], db: db, in: dir)
        for heading in ["SLA attainment per tier", "Overhead by mechanism", "Energy and power", "Utilization and goodput over time"] {
            #expect(full.contains("<h2>\(heading)</h2>"), "missing \(heading)")
        }
        // Premium has counts, so a Wilson interval (0.4902 to 0.9433 of a 260 px plot whose
        // bottom is at y = 294); basic has only its attainment, so no whisker.
        #expect(occurrences("class=\"interval\"", in: full) == 1)
        #expect(full.contains(",166.6 V48.7 "))
        #expect(full.contains(">80.0%<") && full.contains(">8/10<") && full.contains(">50.0%<"))
        #expect(occurrences("<rect class=\"bar\"", in: full) == 2 + 2 + 2)
        #expect(try polylines("goodput", in: full).count == 1)
        #expect(full.contains("<td>3.5 kWh</td>") && full.contains("<td>1.2 kW</td>"))
        #expect(XMLParser(data: Data(full.utf8)).parse())
    }

    @Test func aRunWithoutItsEventLogSaysSoInsteadOfAQueueChart() throws {
        let dir = try temporaryDirectory()
        let scenario = dir.appendingPathComponent("no-events.yaml")
        let text = try String(contentsOfFile: fixture("fifo-hand.yaml"), encoding: .utf8) + "outputs: { event_log: false }\n"
        try text.write(to: scenario, atomically: true, encoding: .utf8)
        let (_, db) = try databaseWithHandRuns(1)
        #expect(try runFleettwin(["run", scenario.path, "--db", db]).status == 0)
        let html = try report(["1", "2"], db: db, in: dir)
        #expect(try polylines("queue", in: html).map(\.run) == [1])
        #expect(html.contains("run 2 was stored without an event log"))
        #expect(try polylines("cdf", in: html).count == 2)
        let only = try report(["2"], db: db, in: dir)
        #expect(try polylines("queue", in: only).isEmpty)
        #expect(only.contains("<h2>Queue length over time</h2>"))
    }
}

@Suite struct MetricFormatTests {
    @Test func acceleratorTimeKeepsSmallRunsReadable() {
        #expect(MetricFormat.format("accelerator_seconds", 93) == "93.0 accelerator-s")
        #expect(MetricFormat.format("accelerator_seconds", 7200) == "2.0 accelerator-h")
    }

    /// Matrix jobs' names differ at their end: the real-workloads list never cuts a name.
    @Test func longJobNamesArePrintedWhole() {
        let names = ["eval-s1[languages=english,conditions=zero.native.original]", "eval-s1[languages=english,conditions=zero.native.translated]", "short"]
        let jobs = names.map { WorkloadResults.Job(job: $0, kind: "vlm-meme", steps: 4, restores: 0, dumps: 0, devices: [4],
                                                   resultHash: "a", referenceHash: "a", metrics: [:]) }
        let text = WorkloadResults(jobs: jobs, analyses: []).text()
        for name in names.prefix(2) { #expect(text.contains("  \(name)  identical")) }
    }

    /// Rates are not durations (a newcomer saw 74,715 requests/s shown as "20h45m").
    @Test func inferenceRatesKeepTheirUnits() {
        #expect(MetricFormat.format("inference_requests_per_second", 74715.4) == "74715.4 /s")
        #expect(MetricFormat.format("inference_accelerator_seconds_per_1k_requests", 0.10714) == "0.107 accelerator-s")
        #expect(MetricFormat.format("inference_requests", 64000) == "64000")
    }
}
