import FleetTwinEngine
import FleetTwinTensor
import FleetTwinWorkloads
import Foundation
import Testing

private func eciSpec(_ negatives: String, seed: UInt64 = 7, worldSize: Int = 1,
                     _ extra: [String: String] = [:]) -> WorkloadSpec {
    tinySpec("eci", seed: seed, worldSize: worldSize, extra.merging(["negatives": negatives]) { a, _ in a })
}

@Suite("ECI workload: checkpoints, data parallelism, determinism")
struct ECIWorkloadContractTests {
    @Test(arguments: ["hybrid-bm25-llm", "cross-encoder"])
    func checkpointedRunContinuesBitIdentically(negatives: String) throws {
        let spec = eciSpec(negatives)
        let straight = try finishedResult(spec)
        // Random checkpoints, plus always one right after mining (the phase boundary).
        let (resumed, restores) = try runRestoringAtRandomSteps(spec, probability: 0.35, alsoAt: [6])
        #expect(restores >= 3)
        #expect(resumed == straight)
        #expect(resumed.hash == straight.hash)
    }

    @Test func worldSizeFourGivesTheSameResultOnOneTwoOrResizedDevices() throws {
        let spec = eciSpec("hybrid-bm25-ce", worldSize: 4)
        let one = try finishedResult(spec, devices: 1)
        let two = try finishedResult(spec, devices: 2)
        let resized = try WorkloadRegistry.make(spec)
        let pattern = [1, 3, 2, 4, 2]
        var i = 0
        while !resized.isFinished { resized.step(devices: pattern[i % pattern.count]); i += 1 }
        #expect(one.hash == two.hash)
        #expect(one.hash == resized.result?.hash)
        #expect(one == two)
        // And the world size does change the job (four replica shards, not one).
        #expect(try finishedResult(eciSpec("hybrid-bm25-ce", worldSize: 1)).hash != one.hash)
    }

    @Test func checkpointBytesAreStableAndTruncationThrows() throws {
        let spec = eciSpec("llm")
        let a = try WorkloadRegistry.make(spec), b = try WorkloadRegistry.make(spec)
        for _ in 0..<9 { a.step(devices: 1); b.step(devices: 2) }
        let bytes = WorkloadCheckpoint.bytes(of: a)
        #expect(bytes == WorkloadCheckpoint.bytes(of: b))
        for cut in [0, 3, 20, bytes.count / 3, bytes.count / 2, bytes.count - 1] {
            #expect(throws: ByteDecodingError.self) { _ = try WorkloadCheckpoint.restore(Array(bytes.prefix(cut))) }
        }
        #expect(throws: ByteDecodingError.self) { _ = try WorkloadCheckpoint.restore(bytes + [0]) }
    }

    @Test func measuredFlopsMatchTheEstimate() throws {
        let w = try WorkloadRegistry.make(eciSpec("bm25", worldSize: 2))
        var total = 0
        while !w.isFinished { total += w.step(devices: 2).flops }
        #expect(abs(total - w.estimatedFlopsPerStep * w.totalSteps) < w.totalSteps)  // the estimate is an integer mean
    }

    @Test func badOptionsAreRejectedNamingTheOption() {
        let cases: [(String, String)] = [
            ("negatives", "hardest"), ("k", "zero"), ("k", "0"), ("falseNegativeRate", "1.5"), ("twinRate", "-0.1"),
            ("steps", "many"), ("learningRate", "0"), ("margin", "nan"), ("queries", "1000"), ("topics", "150"),
            ("colour", "blue"),
        ]
        for (key, value) in cases {
            var spec = eciSpec("bm25")
            spec.options[key] = value
            do {
                _ = try WorkloadRegistry.make(spec)
                Issue.record("\(key)=\(value) was accepted")
            } catch let error as WorkloadError {
                #expect(error.message.contains("'\(key)'"), "\(key)=\(value): \(error.message)")
            } catch {
                Issue.record("\(key)=\(value): unexpected \(error)")
            }
        }
    }
}

@Suite("ECI workload: the mechanism")
struct ECIWorkloadMechanismTests {
    /// Three documents by hand. N = 3, avgdl = 8/3.
    /// d0 = [1 1 2] (|d|=3), d1 = [2 3] (2), d2 = [3 3 3] (3); query [1 3].
    @Test func bm25MatchesAHandComputation() {
        let docs = [[1, 1, 2], [2, 3], [3, 3, 3]]
        let index = BM25(documents: docs, vocabulary: 5)
        let avgdl = 8.0 / 3
        let idf1 = log(1 + (3 - 1 + 0.5) / (1 + 0.5))  // term 1 in one document
        let idf3 = log(1 + (3 - 2 + 0.5) / (2 + 0.5))  // term 3 in two documents
        func w(_ tf: Double, _ len: Double) -> Double { tf * 1.9 / (tf + 0.9 * (1 - 0.4 + 0.4 * len / avgdl)) }
        let expected = [idf1 * w(2, 3), idf3 * w(1, 2), idf3 * w(3, 3)]
        let got = index.scores(query: [1, 3])
        for (g, e) in zip(got, expected) { #expect(abs(g - e) < 1e-12) }
        #expect(abs(expected[0] - 1.2656) < 1e-4)  // 0.98083 * 3.8 / 2.945
        #expect(index.score(query: [3, 1, 3], document: docs[2]) == got[2])  // repeats count once
        #expect(index.top(query: [1, 3], count: 3) == [0, 2, 1])  // 1.266 > idf3·w(3,3) > idf3·w(1,2)
        #expect(index.top(query: [4], count: 3).isEmpty)
    }

    @Test func eciFormulaKnownValues() {
        // Query 1: positive 0.9; negatives 0.45 (ratio 0.5, safe), 0.85 (0.944, unsafe: within 0.1).
        // Query 2: positive 0.5; negatives 0.6 (above: ratio capped at 1, unsafe), 0.1 (0.2, safe).
        let s = ECIScore(positives: [0.9, 0.5], negatives: [[0.45, 0.85], [0.6, 0.1]])
        let h = (0.5 + 0.85 / 0.9 + 1 + 0.2) / 4
        #expect(abs(s.capacity - log(3.0)) < 1e-12)
        #expect(abs(s.hardness - h) < 1e-12)
        #expect(s.safety == 0.5)
        #expect(abs(s.efficiency - 2 * h * 0.5 / (h + 0.5)) < 1e-12)
        #expect(abs(s.eci - log(3.0) * 2 * h * 0.5 / (h + 0.5)) < 1e-12)
        // No safe negative: efficiency and ECI are zero however hard the set is.
        #expect(ECIScore(positives: [0.5], negatives: [[0.5, 0.9]]).eci == 0)
        // More negatives of the same quality: more capacity, same efficiency.
        let few = ECIScore(positives: [0.8], negatives: [[0.4]]), many = ECIScore(positives: [0.8], negatives: [[0.4, 0.4, 0.4]])
        #expect(many.efficiency == few.efficiency && many.eci > few.eci)
    }

    @Test func rankingMetricsKnownValues() {
        #expect(RetrievalMetrics.ndcg(ranking: [5, 1, 2], relevant: [1]) == 1 / log2(3.0))
        let two = RetrievalMetrics.ndcg(ranking: [1, 9, 2], relevant: [1, 2])
        #expect(abs(two - (1 + 0.5) / (1 + 1 / log2(3.0))) < 1e-12)
        #expect(RetrievalMetrics.ndcg(ranking: Array(10..<30), relevant: [25]) == 0)  // rank 16: past the cut
        #expect(RetrievalMetrics.reciprocalRank(ranking: [4, 3, 1], relevant: [1, 3]) == 0.5)
        #expect(RetrievalMetrics.averageRanks([3, 1, 3, 2]) == [3.5, 1, 3.5, 2])
        #expect(RetrievalMetrics.spearman([1, 2, 3, 4], [10, 20, 30, 40]) == 1)
        #expect(RetrievalMetrics.spearman([1, 2, 3, 4], [4, 3, 2, 1]) == -1)
        let tied = try! #require(RetrievalMetrics.spearman([1, 2, 2, 3], [1, 3, 2, 4]))
        #expect(abs(tied - 0.9486832980505138) < 1e-12)  // Pearson of ranks [1,2.5,2.5,4] and [1,3,2,4]
        #expect(RetrievalMetrics.spearman([1, 1], [1, 2]) == nil)
    }

    @Test func bagMeansGradientMatchesFiniteDifferences() {
        let bags = [[0, 2, 2], [4], [], [1, 3, 0, 4]]
        expectGradientsMatch([randomTensor([5, 3], seed: 31), randomTensor([4, 3], seed: 32)]) { t, v in
            t.sum(t.multiply(t.tanh(t.bagMeans(v[0], bags: bags)), v[1]))
        }
        let tape = Tape()
        let table = tape.leaf(Tensor(shape: [3, 2], scalars: [1, 2, 3, 4, 5, 6]))
        #expect(tape.value(tape.bagMeans(table, bags: [[0, 2], [], [1]])).scalars == [3, 4, 0, 0, 3, 4])
    }

    @Test func twinsMakeFalseNegativesAndQueriesAreAnswerable() {
        let corpus = ECICorpus(baseDocuments: 60, topics: 3, vocabulary: 300, twinRate: 0.5,
                               ceQueries: 10, trainQueries: 20, evalQueries: 10, generator: SeededGenerator(seed: 3))
        #expect(corpus.documents.count > 60)
        for q in corpus.trainQueries {
            let source = corpus.documents[q.source]
            #expect(q.tokens.filter { source.keys.contains($0) }.count >= 2)
            if corpus.twinOf[q.source] >= 0 {
                #expect(q.relevant.count == 2 && corpus.documents[corpus.twinOf[q.source]].keys == source.keys)
            }
        }
    }

    @Test func plantedFalseNegativesLowerTheLLMSetsSafetyAndECI() throws {
        let clean = try WorkloadRegistry.make(eciSpec("llm", ["falseNegativeRate": "0", "ceSteps": "30"])) as! ECIWorkload
        let dirty = try WorkloadRegistry.make(eciSpec("llm", ["falseNegativeRate": "0.6", "ceSteps": "30"])) as! ECIWorkload
        for w in [clean, dirty] { while w.negativeSet == nil { w.step(devices: 1) } }
        #expect(clean.falseNegativeShare == 0)
        #expect(try #require(dirty.falseNegativeShare) > 0.4)
        #expect(try #require(dirty.score?.safety) < clean.score!.safety)
        #expect(try #require(dirty.score?.eci) < clean.score!.eci)
    }

    @Test func aDifferentSeedMovesTheScienceNumbers() throws {
        let a = try finishedResult(eciSpec("bm25", seed: 7)), b = try finishedResult(eciSpec("bm25", seed: 8))
        for name in ["eci", "hardness", "safety", "ndcg@10", "mrr@10"] {
            #expect(a[name] != b[name], "\(name) did not move with the seed")
        }
        #expect(a.metrics.map(\.name) == ECIWorkload.metricNames + ECIScoreVariants.names)
        for name in ["hardness", "safety", "false_negative_share", "ndcg@10", "mrr@10"] {
            #expect((0...1).contains(try #require(a[name])), "\(name)")
        }
    }

    @Test func eciVariantsKnownValues() {
        // The inputs of eciFormulaKnownValues: safe negatives 0.45 (ratio 0.5) and 0.1 (0.2).
        let s = ECIScore(positives: [0.9, 0.5], negatives: [[0.45, 0.85], [0.6, 0.1]])
        let v = s.variants, c = log(3.0), h = (0.5 + 0.85 / 0.9 + 1 + 0.2) / 4
        #expect(abs(v.safeHardness - 0.35) < 1e-12)
        #expect(abs(v.eciSafeHardness - c * 2 * 0.35 * 0.5 / 0.85) < 1e-12)
        #expect(abs(v.efficiencyFBeta2 - 5 * h * 0.5 / (4 * h + 0.5)) < 1e-12)
        #expect(abs(v.eciFBeta2 - c * v.efficiencyFBeta2) < 1e-12)
        // Absolute reading: H = mean score 0.5, S = share below 0.8 = 3/4, DE = 0.6.
        #expect(abs(v.hardnessAbsolute - 0.5) < 1e-12 && v.safetyAbsolute == 0.75)
        #expect(abs(v.eciAbsolute - c * 0.6) < 1e-12)
        // F-beta 2 leans on safety: below the harmonic mean when H > S (here), above it when H << S.
        #expect(v.efficiencyFBeta2 < s.efficiency)
        let easy = ECIScore(positives: [0.9], negatives: [[0.09, 0.09]])
        #expect(abs(easy.variants.efficiencyFBeta2 - 5 * 0.1 / 1.4) < 1e-12 && easy.variants.efficiencyFBeta2 > easy.efficiency)
        // A negative at 0.7 next to a positive at 0.6: unsafe for the ratio readings, safe for
        // the absolute one (the reason the main reading normalises by the positive).
        let flipped = ECIScore(positives: [0.6], negatives: [[0.7]])
        #expect(flipped.safety == 0 && flipped.variants.safetyAbsolute == 1 && flipped.variants.safeHardness == 0)
        #expect(ECIScoreVariants(values: v.named.map(\.value)) == v)
        #expect(v.named.map(\.name) == ["eci.safe_hardness", "hardness.safe_hardness", "eci.fbeta2", "efficiency.fbeta2",
                                        "eci.absolute", "hardness.absolute", "safety.absolute"])
        #expect(ECIScoreVariants.names == v.named.map(\.name))
    }

    /// Five sets over five seeds with a known answer: the main reading follows nDCG@10 in every
    /// seed (ρ = 1), the absolute reading runs against it (ρ = -1); the hybrid beats both
    /// parents on the main reading only.
    @Test func seedAnalysisJudgesEveryReadingOverSeeds() {
        let sets: [(String, Double)] = [("random", 0.40), ("bm25", 0.50), ("cross-encoder", 0.55), ("hybrid-bm25-ce", 0.60), ("llm", 0.45)]
        var jobs: [FinishedWorkload] = []
        for seed in 1...5 as ClosedRange<UInt64> {
            for (negatives, ndcg) in sets {
                let n = ndcg + Double(seed) * 0.001
                var metrics = Array(zip(ECIWorkload.metricNames, [n * 2, log(9.0), 0.5, 0.9, 0.6 - n, n, n, 0.5, 0.6, 0.6]))
                    .map { (name: $0.0, value: $0.1) }
                metrics += [("eci.safe_hardness", 1), ("hardness.safe_hardness", 0.3), ("eci.fbeta2", n), ("efficiency.fbeta2", 0.4),
                            ("eci.absolute", 1 - n), ("hardness.absolute", 0.2), ("safety.absolute", 0.9)]
                var spec = eciSpec(negatives)
                spec.seed = seed
                jobs.append(FinishedWorkload(name: "\(negatives)-s\(seed)", spec: spec, result: WorkloadResult(metrics: metrics, hash: seed)))
            }
        }
        let report = ECIWorkload.analyse(jobs)
        #expect(report[value: "seeds"] == 5)
        #expect(report[value: "seeds.eci.spearman.ndcg@10.mean"] == 1)
        #expect(report[value: "seeds.eci.claim.eci_predicts_quality"] == 1)
        #expect(report[value: "seeds.eci.claim.false_negatives_penalised"] == 1)
        #expect(report[value: "seeds.eci.absolute.spearman.ndcg@10.mean"] == -1)
        #expect(report[value: "seeds.eci.absolute.claim.eci_predicts_quality"] == 0)
        #expect(report[value: "seeds.eci.absolute.claim.hybrid_balance"] == 0)
        #expect(report[value: "seeds.eci.claim.hybrid_balance"] == 1)
        #expect(report[value: "seeds.eci.fbeta2.claim.eci_predicts_quality"] == 1)
        // Constant safe-hardness ECI: no rank correlation in any seed, so no claim holds.
        #expect(report[value: "seeds.eci.safe_hardness.claim.eci_predicts_quality"] == 0)
        // The table's rows are the means over seeds, under the one-seed names.
        #expect(abs(report[value: "bm25.ndcg@10"]! - 0.503) < 1e-12)
        #expect(report.lines.filter { $0.hasPrefix("bm25 ") }.count == 1)
    }

    @Test func analyseTabulatesCorrelatesAndJudgesTheClaims() {
        // Hand-made results: ECI order = nDCG order except one swap -> Spearman 0.9 over five sets.
        func job(_ negatives: String, eci: Double, ndcg: Double, fns: Double, safety: Double) -> FinishedWorkload {
            let names = ECIWorkload.metricNames
            let values = [eci, log(9.0), 0.5, safety, fns, ndcg, ndcg, 0.5, 0.6, 0.6]
            return FinishedWorkload(name: negatives, spec: eciSpec(negatives),
                                    result: WorkloadResult(metrics: Array(zip(names, values)).map { (name: $0.0, value: $0.1) }, hash: 1))
        }
        let report = ECIWorkload.analyse([
            job("random", eci: 0.5, ndcg: 0.40, fns: 0.00, safety: 0.99),
            job("bm25", eci: 1.0, ndcg: 0.50, fns: 0.05, safety: 0.90),
            job("cross-encoder", eci: 0.9, ndcg: 0.55, fns: 0.20, safety: 0.60),
            job("hybrid-bm25-ce", eci: 1.2, ndcg: 0.60, fns: 0.10, safety: 0.80),
            job("llm", eci: 0.7, ndcg: 0.45, fns: 0.30, safety: 0.50),
        ])
        #expect(abs(report[value: "spearman.eci.ndcg@10"]! - 0.9) < 1e-12)
        #expect(report[value: "bm25.eci"] == 1.0 && report[value: "llm.ndcg@10"] == 0.45)
        #expect(report[value: "claim.eci_predicts_quality"] == 1)
        #expect(report[value: "claim.hybrid_balance"] == 1)
        #expect(report[value: "spearman.false_negative_share.safety"] == -1)
        #expect(report[value: "claim.false_negatives_penalised"] == 0)  // FN share vs ECI: +0.1
        #expect(report.lines.contains { $0.hasPrefix("hybrid-bm25-ce") })
        #expect(report.lines.contains { $0.contains("NOT SUPPORTED") && $0.contains("false negatives") })
    }
}

/// The default configuration, every set: run with ECI_DEFAULT_RUN=1 in a release build.
@Suite("ECI workload: default sets (opt-in)")
struct ECIWorkloadDefaultRun {
    @Test(.enabled(if: ProcessInfo.processInfo.environment["ECI_DEFAULT_RUN"] != nil))
    func defaultSets() throws {
        let seed = UInt64(ProcessInfo.processInfo.environment["ECI_SEED"] ?? "") ?? 1
        var extra: [String: String] = [:]
        for pair in (ProcessInfo.processInfo.environment["ECI_OPTIONS"] ?? "").split(separator: ",") {
            let kv = pair.split(separator: "=", maxSplits: 1).map(String.init)
            if kv.count == 2 { extra[kv[0]] = kv[1] }
        }
        var specs = ECIWorkload.defaultSpecs(seed: seed, options: extra)
        var dirty = extra
        dirty["negatives"] = "llm"; dirty["falseNegativeRate"] = "0.6"
        specs.append(WorkloadSpec(kind: "eci", seed: seed, options: dirty))
        var jobs: [FinishedWorkload] = []
        for spec in specs {
            let w = try WorkloadRegistry.make(spec)
            w.runToCompletion()
            let r = try #require(w.result)
            print("eci \(spec.options["negatives"]!) " + r.metrics.map { "\($0.name)=\(String(format: "%.4f", $0.value))" }.joined(separator: " ") + " hash=\(r.hashHex)")
            jobs.append(FinishedWorkload(name: spec.options["negatives"]!, spec: spec, result: r))
        }
        let report = ECIWorkload.analyse(jobs)
        print(report.title)
        for line in report.lines { print(line) }
        for v in report.values where v.name.hasPrefix("spearman") || v.name.hasPrefix("claim") { print("\(v.name) = \(String(format: "%.4f", v.value))") }
    }
}
