import FleetTwinEngine
import FleetTwinTensor
@testable import FleetTwinWorkloads
import Foundation
import Testing

private func rerankerSpec(seed: UInt64 = 7, worldSize: Int = 1, _ options: [String: String] = [:]) -> WorkloadSpec {
    tinySpec("reranker", seed: seed, worldSize: worldSize, options)
}

@Suite("RerankerWorkload: scaling laws for rerankers")
struct RerankerWorkloadTests {
    @Test func checkpointRestoreAtRandomStepsContinuesIdentically() throws {
        for loss in RerankerWorkload.losses {
            let spec = rerankerSpec(["loss": loss])
            let reference = try finishedResult(spec)
            let (restored, restores) = try runRestoringAtRandomSteps(spec)
            #expect(restores > 0)
            #expect(restored == reference, "\(loss): restored run differs")
            #expect(restored.hash == reference.hash)
        }
    }

    @Test func resultDoesNotDependOnDevicesOrResizes() throws {
        let spec = rerankerSpec(worldSize: 4, ["batch": "8", "steps": "6", "evalEvery": "3"])
        let one = try finishedResult(spec, devices: 1)
        let two = try finishedResult(spec, devices: 2)
        let four = try finishedResult(spec, devices: 4)
        let resized = try WorkloadRegistry.make(spec)
        let pattern = [1, 2, 4, 3, 2, 1]
        var i = 0
        while !resized.isFinished { resized.step(devices: pattern[i % pattern.count]); i += 1 }
        #expect(one.hash == two.hash)
        #expect(one.hash == four.hash)
        #expect(one == (try #require(resized.result)))
        // A different world size is a different job (other shards, other reduction).
        let single = try finishedResult(rerankerSpec(worldSize: 1, ["batch": "8", "steps": "6", "evalEvery": "3"]))
        #expect(single.hash != one.hash)
    }

    @Test func resultNamesMetricsAndCurveInFixedOrder() throws {
        let r = try finishedResult(rerankerSpec(["steps": "10", "evalEvery": "4"]))
        let names = r.metrics.map(\.name)
        #expect(Array(names.prefix(6)) == ["size", "parameters", "ndcg@10", "map", "mrr", "contrastive_entropy"])
        #expect(names.contains("ndcg@10@step=4") && names.contains("ndcg@10@step=8") && names.contains("ndcg@10@step=10"))
        #expect(names.contains("contrastive_entropy@step=10"))
        #expect(r["parameters"] == Double(RerankerWorkload.parameterCount(size: 1)))
        #expect(r["ndcg@10"] == r["ndcg@10@step=10"])
        for metric in ["ndcg@10", "map", "mrr"] { #expect((0...1).contains(try #require(r[metric]))) }
    }

    @Test func scienceNumbersAreComputedFromTheSeed() throws {
        let a = try finishedResult(rerankerSpec(seed: 1))
        let b = try finishedResult(rerankerSpec(seed: 2))
        #expect(a["ndcg@10"] != b["ndcg@10"])
        #expect(a["contrastive_entropy"] != b["contrastive_entropy"])
        #expect(a.hash != b.hash)
        // The loss changes the model, the size changes the parameter count.
        let listnet = try finishedResult(rerankerSpec(seed: 1, ["loss": "listnet"]))
        #expect(listnet["ndcg@10"] != a["ndcg@10"])
        #expect(RerankerWorkload.parameterCount(size: 0) == 221)
        #expect(RerankerWorkload.parameterCount(size: 5) == 22913)
        for s in 1..<RerankerWorkload.sizeCount {
            #expect(RerankerWorkload.parameterCount(size: s) >= 2 * RerankerWorkload.parameterCount(size: s - 1))
        }
    }

    @Test func trainingBeatsTheUntrainedStudent() throws {
        // Step 1 is almost the random initialisation; 40 RankNet steps must rank better.
        let r = try finishedResult(rerankerSpec(seed: 3, ["size": "2", "steps": "40", "evalEvery": "1", "batch": "8", "evalQueries": "24", "candidates": "16"]))
        let first = try #require(r["ndcg@10@step=1"]), last = try #require(r["ndcg@10"])
        #expect(last > first + 0.05, "nDCG@10 \(first) -> \(last)")
    }

    @Test func teacherAndEvaluationDataAreSharedAcrossSizesAndLosses() throws {
        let small = try RerankerWorkload(spec: rerankerSpec(["size": "0", "loss": "bce"]))
        let large = try RerankerWorkload(spec: rerankerSpec(["size": "3", "loss": "listnet"]))
        #expect(small.evalLists.map(\.labels) == large.evalLists.map(\.labels))
        #expect(small.evalLists.map(\.features) == large.evalLists.map(\.features))
        let other = try RerankerWorkload(spec: rerankerSpec(seed: 8))
        #expect(other.evalLists.map(\.features) != small.evalLists.map(\.features))
        // Labels: K/16 threes, K/8 twos, K/4 ones, the rest zeros, in every list.
        for list in small.evalLists {
            #expect(list.labels.sorted(by: >) == [3, 2, 1, 1, 0, 0, 0, 0])
        }
        #expect(RerankerTeacher.gradedLabels(noisyScores: [0.1, 5, -1, 2, 2, 0, -3, 1]) == [0, 3, 0, 2, 1, 0, 0, 1].map(Float.init))
    }

    @Test func rankingMetricsOnAHandRankedList() {
        // Scores rank the candidates 0, 1, 2, 3, 4; labels along that ranking: 0, 3, 0, 2, 1.
        let scores: [Float] = [5, 4, 3, 2, 1]
        let labels: [Float] = [0, 3, 0, 2, 1]
        let dcg = 7 / log2(3.0) + 3 / log2(5.0) + 1 / log2(6.0)
        let idcg = 7 / log2(2.0) + 3 / log2(3.0) + 1 / log2(4.0)
        #expect(abs(RankingMetrics.ndcg(scores: scores, labels: labels) - dcg / idcg) < 1e-12)
        #expect(abs(RankingMetrics.ndcg(scores: scores, labels: labels, k: 2) - (7 / log2(3.0)) / (7 + 3 / log2(3.0))) < 1e-12)
        // Relevant (label >= 2) at ranks 2 and 4: AP = (1/2 + 2/4) / 2, RR = 1/2.
        #expect(abs(RankingMetrics.averagePrecision(scores: scores, labels: labels) - 0.5) < 1e-12)
        #expect(RankingMetrics.reciprocalRank(scores: scores, labels: labels) == 0.5)
        // Perfect ranking: everything is 1. Ties break by index.
        #expect(RankingMetrics.ndcg(scores: [1, 9, 0, 5, 2], labels: labels) == 1)
        #expect(RankingMetrics.ranking([1, 2, 2, 0]) == [1, 2, 0, 3])
        // Contrastive entropy: positives 1 and 3 each against the negatives 0, 2, 4.
        let ce = RankingMetrics.contrastiveEntropy(scores: scores, labels: labels)
        let negatives = exp(5.0) + exp(3.0) + exp(1.0)
        let expected = -log(exp(4.0) / (exp(4.0) + negatives)) - log(exp(2.0) / (exp(2.0) + negatives))
        #expect(ce.count == 2 && abs(ce.sum - expected) < 1e-9)
        // A constant scorer: log(1 + negatives) per positive.
        let flat = RankingMetrics.contrastiveEntropy(scores: [0, 0, 0, 0, 0], labels: labels)
        #expect(abs(flat.sum / 2 - log(4.0)) < 1e-12)
    }

    @Test func lawFitRecoversExactPowerLaws() throws {
        let xs = [221.0, 473, 1073, 2657, 7361, 22913]
        for (a, b, c) in [(0.8, -2.0, -0.4), (1.5, 3.0, -0.75), (0.1, 0.02, -1.8)] {
            let ys = xs.map { a + b * pow($0, c) }
            let law = try #require(ScalingLaw.fit(x: Array(xs.prefix(4)), y: Array(ys.prefix(4))))
            #expect(abs(law.c - c) < 1e-3, "c \(law.c) for \(c)")
            #expect(abs(law.a - a) < 1e-2 * max(1, abs(a)), "a \(law.a) for \(a)")
            #expect(abs(law.predict(xs[5]) - ys[5]) < 1e-3 * max(1, abs(ys[5])))
        }
        #expect(ScalingLaw.fit(x: [1, 2], y: [1, 2]) == nil)
        #expect(ScalingLaw.fit(x: [1, 1, 1], y: [1, 2, 3]) == nil)
    }

    @Test func analyseForecastsTheTwoLargestSizesFromTheFourSmallest() throws {
        // Exact laws per loss: the forecasts must match the actual values; then perturb the
        // largest sizes upward and the bias must read conservative.
        func job(_ loss: String, _ size: Int, bump: Double) -> FinishedWorkload {
            let n = Double(RerankerWorkload.parameterCount(size: size))
            let ndcg = 0.9 - 1.5 * pow(n, -0.3) + (size >= 4 ? bump : 0)
            let ce = 1.0 + 20 * pow(n, -0.5) - (size >= 4 ? bump : 0)
            let metrics: [(name: String, value: Double)] = [
                ("size", Double(size)), ("parameters", n), ("ndcg@10", ndcg), ("map", ndcg - 0.1), ("mrr", ndcg + 0.05),
                ("contrastive_entropy", ce),
            ] + [10, 20, 30, 40, 50, 60, 70, 80, 90, 100].map { s in ("ndcg@10@step=\(s)", ndcg - 0.3 * pow(Double(s), -0.5)) }
            let spec = WorkloadSpec(kind: "reranker", seed: 1, options: ["loss": loss, "size": "\(size)"])
            return FinishedWorkload(name: "\(loss)-\(size)", spec: spec, result: WorkloadResult(metrics: metrics, hash: 0))
        }
        let exact = RerankerWorkload.analyse((0..<6).reversed().map { job("bce", $0, bump: 0) })
        let forecast = try #require(exact[value: "bce.ndcg@10.forecast.size5"])
        let actual = try #require(exact[value: "bce.ndcg@10.actual.size5"])
        #expect(abs(forecast - actual) < 1e-4)
        #expect(abs((exact[value: "bce.ndcg@10.c"] ?? 0) + 0.3) < 1e-3)
        #expect(abs((exact[value: "bce.contrastive_entropy.c"] ?? 0) + 0.5) < 1e-3)
        #expect(abs((exact[value: "bce.size3.steps.ndcg@10.c"] ?? 0) + 0.5) < 1e-3)
        #expect(abs(exact[value: "bce.size3.steps.ndcg@10.error"] ?? 1) < 1e-4)

        let bumped = RerankerWorkload.analyse((0..<6).map { job("listnet", $0, bump: 0.05) } + (0..<3).map { job("bce", $0, bump: 0) })
        #expect(bumped[value: "listnet.ndcg@10.conservative.size4"] == 1)
        #expect(bumped[value: "listnet.contrastive_entropy.conservative.size5"] == 1)
        #expect(abs((bumped[value: "listnet.ndcg@10.error.size5"] ?? 0) + 0.05) < 1e-3)
        #expect(bumped[value: "forecasts"] == 8)
        #expect(bumped[value: "forecasts.conservative"] == 8)
        #expect(bumped.lines.contains { $0.contains("only 3 sizes of bce") })
        #expect(bumped[value: "bce.ndcg@10.c"] == nil)
        #expect(bumped.lines.contains { $0.contains("size5: forecast") && $0.contains("conservative") })
    }

    /// The joint law y = a + b N^alpha + d S^beta on synthetic points with a known answer.
    @Test func jointLawRecoversAKnownLaw() throws {
        let sizes = [221.0, 473, 1073, 2657, 7361, 22913], steps = [40.0, 80, 120, 160, 200, 240, 280, 320, 360, 400]
        func truth(_ n: Double, _ s: Double) -> Double { 0.9 - 1.2 * pow(n, -0.35) - 0.4 * pow(s, -0.6) }
        var ns: [Double] = [], ss: [Double] = [], ys: [Double] = []
        for n in sizes.prefix(4) { for s in steps { ns.append(n); ss.append(s); ys.append(truth(n, s)) } }
        let law = try #require(JointScalingLaw.fit(parameters: ns, steps: ss, y: ys))
        #expect(abs(law.alpha + 0.35) < 0.003 && abs(law.beta + 0.6) < 0.003, "\(law)")
        #expect(abs(law.a - 0.9) < 0.01 && abs(law.b + 1.2) < 0.05 && abs(law.d + 0.4) < 0.02, "\(law)")
        #expect(abs(law.predict(parameters: sizes[5], steps: 400) - truth(sizes[5], 400)) < 2e-3)
        let quality = FitQuality(actual: ys, predicted: zip(ns, ss).map { law.predict(parameters: $0, steps: $1) })
        #expect(quality.rSquared! > 0.9999 && quality.logRMSE! < 1e-3)
        // Not enough variety: one size, or too few points.
        #expect(JointScalingLaw.fit(parameters: Array(repeating: 221, count: 10), steps: steps, y: steps) == nil)
        #expect(JointScalingLaw.fit(parameters: [1, 2, 3, 4], steps: [1, 2, 3, 4], y: [1, 2, 3, 4]) == nil)
    }

    @Test func fitQualityKnownValues() {
        let q = FitQuality(actual: [1, 2, 3], predicted: [1, 2, 4])
        // SSres = 1, SStot = 2: R² = 0.5; log errors 0, 0, ln(4/3).
        #expect(abs(q.rSquared! - 0.5) < 1e-12)
        #expect(abs(q.logRMSE! - log(4.0 / 3) / 3.0.squareRoot()) < 1e-12)
        #expect(FitQuality(actual: [1, 1], predicted: [1, 2]).rSquared == nil)
        #expect(FitQuality(actual: [1, -1], predicted: [1, 2]).logRMSE == nil)
    }

    /// Five seeds of an exact joint law, the two largest sizes bumped up by 0.02 + noise: the
    /// gain holds, both laws' forecasts read conservative with intervals below 0, the joint
    /// law's fit is reported.
    @Test func seedAnalysisOverFiveSeeds() throws {
        func job(_ seed: UInt64, _ size: Int) -> FinishedWorkload {
            let n = Double(RerankerWorkload.parameterCount(size: size))
            let bump = size >= 4 ? 0.02 + 0.001 * Double(seed) : 0
            func y(_ s: Double) -> Double { 0.9 - 1.5 * pow(n, -0.3) - 0.3 * pow(s, -0.5) + bump }
            let metrics: [(name: String, value: Double)] = [
                ("size", Double(size)), ("parameters", n), ("ndcg@10", y(100)), ("map", y(100) - 0.1), ("mrr", y(100)),
                ("contrastive_entropy", 2 - y(100)),
            ] + [10, 20, 30, 40, 50, 60, 70, 80, 90, 100].map { s in ("ndcg@10@step=\(s)", y(Double(s))) }
            let spec = WorkloadSpec(kind: "reranker", seed: seed, options: ["loss": "ranknet", "size": "\(size)"])
            return FinishedWorkload(name: "s\(seed)-\(size)", spec: spec, result: WorkloadResult(metrics: metrics, hash: 0))
        }
        let report = RerankerWorkload.analyse((1...5).flatMap { seed in (0..<6).map { job(UInt64(seed), $0) } })
        #expect(report[value: "seeds.ranknet.ndcg@10.gain.seeds"] == 5)
        #expect(report[value: "seeds.ranknet.claim.larger_ranks_better"] == 1)
        #expect(report[value: "seeds.ranknet.claim.forecasts_conservative"] == 1)
        #expect(report[value: "seeds.ranknet.claim.joint_forecasts_conservative"] == 1)
        let e = try #require(report[value: "seeds.ranknet.joint.ndcg@10.error.size5.mean"])
        #expect(abs(e + 0.023) < 2e-3, "joint error \(e)")
        #expect(abs((report[value: "ranknet.joint.ndcg@10.alpha"] ?? 0) + 0.3) < 0.01)
        #expect((report[value: "ranknet.joint.ndcg@10.r2"] ?? 0) > 0.999)
        #expect((report[value: "ranknet.ndcg@10.r2"] ?? 0) > 0.999)
        // One seed: the fits are reported, the claims over seeds are not.
        let one = RerankerWorkload.analyse((0..<6).map { job(1, $0) })
        #expect(one[value: "ranknet.joint.ndcg@10.beta"] != nil && one[value: "seeds.ranknet.claim.larger_ranks_better"] == nil)
    }

    @Test func analyseRunsOnRealJobs() throws {
        var jobs: [FinishedWorkload] = []
        for size in 0..<4 {
            let spec = rerankerSpec(["size": "\(size)", "steps": "8", "evalEvery": "1"])
            jobs.append(FinishedWorkload(name: "s\(size)", spec: spec, result: try finishedResult(spec)))
        }
        let report = RerankerWorkload.analyse(jobs)
        #expect(report[value: "ranknet.ndcg@10.c"] != nil)
        #expect(report[value: "ranknet.ndcg@10.size3"] == jobs[3].result["ndcg@10"])
        #expect(report[value: "ranknet.size2.steps.map.forecast"] != nil)
        #expect(report[value: "forecasts"] == 0)
        #expect(!report.lines.isEmpty)
    }

    @Test func estimatedFlopsMatchMeasured() throws {
        for (size, loss) in [(0, "bce"), (2, "listnet")] {
            let w = try WorkloadRegistry.make(rerankerSpec(worldSize: 2, ["size": "\(size)", "loss": loss, "steps": "9", "evalEvery": "3"]))
            var total = 0
            while !w.isFinished { total += w.step(devices: 1).flops }
            let measured = Double(total) / Double(w.totalSteps), estimated = Double(w.estimatedFlopsPerStep)
            #expect(measured > 0 && estimated / measured < 2 && measured / estimated < 2, "estimated \(estimated), measured \(measured)")
        }
    }

    @Test func badOptionsNameTheOption() {
        let cases: [([String: String], Int, [String])] = [
            (["size": "6"], 1, ["size", "6", "0-5"]),
            (["size": "big"], 1, ["size", "big"]),
            (["loss": "hinge"], 1, ["loss", "hinge", "bce, ranknet, listnet"]),
            (["steps": "0"], 1, ["steps", "0"]),
            (["evalEvery": "-2"], 1, ["evalEvery", "-2"]),
            (["lr": "abc"], 1, ["lr", "abc", "positive"]),
            (["candidates": "2"], 1, ["candidates", "2", "4-1024"]),
            (["batch": "6"], 4, ["batch", "6", "multiple of worldSize 4"]),
            (["evalQueries": "0"], 1, ["evalQueries", "0"]),
            (["sizes": "3"], 1, ["sizes", "size"]),
        ]
        for (options, worldSize, fragments) in cases {
            do {
                _ = try WorkloadRegistry.make(WorkloadSpec(kind: "reranker", seed: 1, worldSize: worldSize, options: options))
                Issue.record("\(options) was accepted")
            } catch let error as WorkloadError {
                for fragment in fragments { #expect(error.message.contains(fragment), "\(error.message) lacks \(fragment)") }
            } catch { Issue.record("\(options): unexpected \(error)") }
        }
    }

    @Test func checkpointBytesAreStableAndTruncationThrows() throws {
        func bytes(after steps: Int) throws -> [UInt8] {
            let w = try WorkloadRegistry.make(rerankerSpec(["loss": "listnet"]))
            for _ in 0..<steps { w.step(devices: 1) }
            return WorkloadCheckpoint.bytes(of: w)
        }
        let a = try bytes(after: 5), b = try bytes(after: 5)
        #expect(a == b)
        #expect(try bytes(after: 0) != a)
        let restored = try WorkloadCheckpoint.restore(a)
        #expect(WorkloadCheckpoint.bytes(of: restored) == a)
        #expect(restored.stepsCompleted == 5)
        for length in Set(stride(from: 0, to: a.count, by: max(1, a.count / 41)).map { $0 } + [a.count - 1]).sorted() {
            #expect(throws: ByteDecodingError.self) { _ = try WorkloadCheckpoint.restore(Array(a.prefix(length))) }
        }
        #expect(throws: ByteDecodingError.self) { _ = try WorkloadCheckpoint.restore(a + [0]) }
    }
}
