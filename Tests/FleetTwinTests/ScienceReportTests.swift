import FleetTwinReports
@testable import FleetTwinStore
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing

/// A database in a fresh directory holding run 1 of the science-tiny fixture (real reranker,
/// ECI and RAG jobs, a second each), and the workload results it stored.
func databaseWithScienceRun() throws -> (dir: URL, db: String, results: WorkloadResults) {
    let dir = try temporaryDirectory()
    let db = dir.appendingPathComponent("s.sqlite").path
    let out = try runFleettwin(["run", fixture("science-tiny.yaml"), "--db", db])
    #expect(out.status == 0, "\(out.stderr)")
    let json = try #require(try ResultStore(path: db).workloadResultsJSON(run: 1))
    return (dir, db, try WorkloadResults(json: json))
}

/// Replaces run `id`'s stored workload results.
func storeWorkloads(_ results: WorkloadResults, run id: Int64, db: String) throws {
    let json = try results.json()
    try ResultStore(path: db).database.write { db in
        try db.execute(sql: "INSERT OR REPLACE INTO workload_results (run_id, results_json) VALUES (?, ?)", arguments: [id, json])
    }
}

/// A job of `kind` whose result matched its reference, with `metrics`.
func storedJob(_ name: String, kind: String, _ metrics: [String: Double]) -> WorkloadResults.Job {
    .init(job: name, kind: kind, steps: 1, restores: 0, dumps: 0, devices: [1], resultHash: "0", referenceHash: "0", metrics: metrics)
}

/// The report's fixed-decimal numbers.
func decimals(_ value: Double, _ count: Int) -> String {
    let text = String(format: "%.\(count)f", value)
    return text.hasPrefix("-") && Double(text) == 0 ? String(text.dropFirst()) : text
}

@Suite struct ScienceReportTests {
    @Test func aRunWithEveryKindDrawsEachChartWithTheNumbersItStored() throws {
        let (dir, db, results) = try databaseWithScienceRun()
        let html = try report(["1"], db: db, in: dir)
        for heading in ["Reranker scaling laws (run 1)", "ECI and the student's retrieval quality (run 1)",
                        "RAG probes: causal tracing and attention knockout (run 1)"] {
            #expect(html.contains("<h2>\(heading)</h2>"), "missing \(heading)")
        }
        #expect(occurrences("<div class=\"science\" id=\"science\">", in: html) == 1)

        // Reranker: one chart per metric; the law through sizes 0-3, dashed to size 4, whose
        // forecast is drawn against what it measured, with the stored numbers.
        let reranker = try #require(results.analyses.first { $0.kind == "reranker" }).values
        #expect(occurrences("<polyline class=\"law\" data-key=\"ranknet\"", in: html) == 4)
        #expect(occurrences("<polyline class=\"law-extrapolated\" data-key=\"ranknet\"", in: html) == 4)
        #expect(occurrences("<circle class=\"measured\"", in: html) == 4 * 4)
        #expect(occurrences("<circle class=\"held-back\"", in: html) == 4 && occurrences("<path class=\"forecast\"", in: html) == 4)
        for metric in ["ndcg@10", "map", "mrr", "contrastive_entropy"] {
            let a = try #require(reranker["ranknet.\(metric).a"]), b = try #require(reranker["ranknet.\(metric).b"])
            let c = try #require(reranker["ranknet.\(metric).c"])
            #expect(html.contains(">ranknet: a=\(decimals(a, 4)) b=\(String(format: "%.4g", b)) c=\(decimals(c, 3))<"), "\(metric) law")
            let forecast = try #require(reranker["ranknet.\(metric).forecast.size4"])
            let actual = try #require(reranker["ranknet.\(metric).size4"])
            #expect(html.contains("forecast \(decimals(forecast, 4)), measured \(decimals(actual, 4))"), "\(metric) forecast")
        }
        let total = try #require(reranker["forecasts"]), conservative = try #require(reranker["forecasts.conservative"])
        #expect(html.contains("\(Int(conservative)) of \(Int(total))."))

        // ECI: one labelled point per negative set, with the stored correlation.
        let eci = try #require(results.analyses.first { $0.kind == "eci" }).values
        #expect(occurrences("<circle class=\"negative-set\"", in: html) == 3)
        for set in ["random", "bm25", "llm"] {
            #expect(html.contains(">\(set)</text>"))
            let x = try #require(eci["\(set).eci"]), y = try #require(eci["\(set).ndcg@10"])
            #expect(html.contains("<title>\(set): eci \(decimals(x, 3)), nDCG@10 \(decimals(y, 3))"))
        }
        let rho = try #require(eci["spearman.eci.ndcg@10"])
        #expect(html.contains("Spearman ρ(ECI, nDCG@10) = \(decimals(rho, 3)) over 3 sets"))

        // RAG: two heatmaps (9 sites: hidden, MLP, attention at the subject's last and first
        // tokens and the last position, x the embedding and 2 layers) and three knockout bars.
        let rag = try #require(results.jobs.first { $0.kind == "rag" }).metrics
        #expect(occurrences("<rect class=\"cell\"", in: html) == 2 * 9 * 3)
        for name in ["aie.last.with_context.layer2", "aie.subject_mlp.no_context.layer1", "aie.subject_embedding.no_context"] {
            #expect(html.contains(">\(decimals(try #require(rag[name]), 3))</text>"), "\(name)")
        }
        #expect(occurrences("<rect class=\"bar\" data-series=", in: html) == 3)
        let knockout = try #require(rag["knockout.subject.with_context"])
        #expect(html.contains("<title>rag, last → subject, with context: \(decimals(knockout * 100, 1))%</title>"))
        // Each kind's analysis follows as text, and the page stays well-formed and offline.
        #expect(occurrences("the analysis as text</summary>", in: html) == 3)
        #expect(!html.contains("<script"))
        let parser = XMLParser(data: Data(html.utf8))
        #expect(parser.parse(), "not well-formed: \(String(describing: parser.parserError))")
    }

    @Test func theScienceIsByteIdenticalAcrossProcesses() throws {
        let (dir, db, _) = try databaseWithScienceRun()
        let first = try report(["1"], db: db, in: dir)
        let second = try report(["1"], db: db, in: dir)
        #expect(first.contains("class=\"science\"") && first == second)
    }

    @Test func chartsWhoseDataIsAbsentAreLeftOut() throws {
        let (dir, db) = try databaseWithHandRuns(3)
        // Run 1 stored no workloads: no science at all.
        let plain = try report(["1"], db: db, in: dir)
        #expect(!plain.contains("science") && !plain.contains("<h3>"))
        // Run 2: three reranker sizes (too few for a law), one ECI set (nothing to correlate),
        // RAG knockouts without per-layer effects, a kind no drawing knows.
        let partial = WorkloadResults(
            jobs: (0..<3).map { storedJob("r\($0)", kind: "reranker", ["size": Double($0), "parameters": Double(100 * ($0 + 1))]) }
                + [storedJob("rag", kind: "rag", ["knockout.subject.no_context": 0.5, "knockout.answer.with_context": 0.25]),
                   storedJob("eci", kind: "eci", ["eci": 0.4]), storedJob("other", kind: "unknown-kind", ["x": 1])],
            analyses: [
                .init(kind: "reranker", title: "Reranker", lines: ["three sizes"],
                      values: ["bce.ndcg@10.size0": 0.5, "bce.ndcg@10.size1": 0.6, "bce.ndcg@10.size2": 0.65, "forecasts": 0]),
                .init(kind: "eci", title: "ECI", lines: ["one set"], values: ["bm25.eci": 0.4, "bm25.ndcg@10": 0.3]),
                .init(kind: "unknown-kind", title: "Unknown", lines: ["?"], values: ["x": 1]),
            ])
        try storeWorkloads(partial, run: 2, db: db)
        let html = try report(["2"], db: db, in: dir)
        #expect(html.contains("<h2>Reranker scaling laws (run 2)</h2>") && html.contains(">bce (no law fitted)<"))
        #expect(occurrences("<polyline class=\"measured-line\" data-key=\"bce\"", in: html) == 1)
        #expect(!html.contains("class=\"law\"") && !html.contains("class=\"forecast\"") && !html.contains("Forecasts of held-back"))
        #expect(occurrences("<svg ", in: html) == 3 + 1 + 1)  // the scheduling charts, one metric, the knockouts
        #expect(!html.contains("ECI and the student") && !html.contains("negative-set") && !html.contains("Unknown"))
        #expect(html.contains("<h3>Attention knockout</h3>") && !html.contains("Causal tracing") && !html.contains("class=\"cell\""))
        #expect(occurrences("<rect class=\"bar\" data-series=", in: html) == 2 && html.contains(">50.0%<"))
        #expect(XMLParser(data: Data(html.utf8)).parse())
        // Run 3: workloads stored, nothing drawable (no parameter counts, no values): no section.
        try storeWorkloads(WorkloadResults(jobs: [storedJob("r", kind: "reranker", ["ndcg@10": 0.5])],
                                           analyses: [.init(kind: "reranker", title: "R", lines: [], values: ["bce.ndcg@10.size0": 0.5])]),
                           run: 3, db: db)
        #expect(!(try report(["3"], db: db, in: dir)).contains("science"))
    }

    @Test func vlmMemeConditionsAreGroupedBarsPerLanguage() throws {
        let (dir, db) = try databaseWithHandRuns(1)
        var values: [String: Double] = ["claim.translation_hurts": 1, "macro_f1.aa.zero.native.original.ci_low": 0.1]
        var index = 0.0
        for language in ["bb", "aa"] {
            for shot in ["zero", "one"] {
                for prompt in ["native", "english"] {
                    for caption in ["original", "translated"] {
                        values["macro_f1.\(language).\(shot).\(prompt).\(caption)"] = 0.4 + index / 100
                        index += 1
                    }
                }
            }
        }
        values["accuracy.aa.zero.native.original"] = 0.7
        // Half-widths of intervals name five parts too; they are not a chart.
        values["macro_f1_ci95.aa.zero.native.original"] = 0.05
        try storeWorkloads(WorkloadResults(jobs: [], analyses: [.init(kind: "vlm-meme", title: "Memes", lines: ["x"], values: values)]),
                           run: 1, db: db)
        let html = try report(["1"], db: db, in: dir)
        #expect(html.contains("<h2>Cross-cultural meme detection (run 1)</h2>"))
        // Macro-F1 first (16 bars: 2 languages x 8 conditions), then accuracy (one bar).
        let f1 = try #require(html.range(of: "<h3>macro-F1 per language and condition</h3>"))
        let accuracy = try #require(html.range(of: "<h3>accuracy per language and condition</h3>"))
        #expect(f1.lowerBound < accuracy.lowerBound)
        #expect(occurrences("<rect class=\"bar\" data-series=", in: html) == 16 + 1)
        #expect(!html.contains("macro_f1_ci95 per language"))
        #expect(occurrences("data-series=\"one · english · original\" data-group=\"aa\"", in: html) == 1)
        #expect(html.contains("<title>aa, zero · native · original: 0.480</title>"))
        #expect(html.range(of: ">aa</text>")!.lowerBound < html.range(of: ">bb</text>")!.lowerBound)
        #expect(XMLParser(data: Data(html.utf8)).parse())
    }
}
