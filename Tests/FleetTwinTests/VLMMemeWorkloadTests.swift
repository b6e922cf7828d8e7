import FleetTwinEngine
import FleetTwinTensor
@testable import FleetTwinWorkloads
import Foundation
import Testing

/// A tiny vlm-meme job (well under a second in a debug build).
private func tinyMeme(seed: UInt64 = 7, worldSize: Int = 1, _ extra: [String: String] = [:]) -> WorkloadSpec {
    tinySpec("vlm-meme", seed: seed, worldSize: worldSize, extra)
}

@Suite("VLMMemeWorkload: cross-cultural hateful-meme detection as batch inference")
struct VLMMemeWorkloadTests {
    @Test func generatorIsDeterministicAndNormsDisagreeOnTheDocumentedShare() {
        var a = SeededGenerator(seed: 3, stream: "w"), b = SeededGenerator(seed: 3, stream: "w")
        #expect(VLMMemeWorld(&a) == VLMMemeWorld(&b))
        for culture in 0..<VLMMemeWorld.languages.count {
            var g1 = SeededGenerator(seed: 5, stream: "m"), g2 = SeededGenerator(seed: 5, stream: "m")
            let first = (0..<50).map { _ in VLMMemeWorld.meme(culture: culture, &g1) }
            #expect(first == (0..<50).map { _ in VLMMemeWorld.meme(culture: culture, &g2) })
            var g = SeededGenerator(seed: 11, stream: "share.\(culture)")
            let n = 4000
            var disagree = 0, hateful = 0
            for _ in 0..<n {
                let m = VLMMemeWorld.meme(culture: culture, &g)
                #expect(m.image.count == VLMMemeWorld.imageSlots && m.caption.count == VLMMemeWorld.captionSlots)
                let local = VLMMemeWorld.isHateful(m, underNormOf: culture)
                if local { hateful += 1 }
                if local != VLMMemeWorld.isHateful(m, underNormOf: VLMMemeWorld.dominant) { disagree += 1 }
            }
            let share = Double(disagree) / Double(n)
            if culture == VLMMemeWorld.dominant {
                #expect(disagree == 0, "the dominant culture agrees with itself")
            } else {
                // Documented: 0.5 x 2/6 x 0.85 + 0.5 x 0.4 x 0.15 = 0.172.
                #expect(share > 0.14 && share < 0.20, "\(VLMMemeWorld.languages[culture]): \(share)")
            }
            #expect(abs(Double(hateful) / Double(n) - 0.5) < 0.04)
        }
    }

    @Test func translatorLosesSlursIdiomsAndCultureBoundWordsOnly() {
        var g = SeededGenerator(seed: 1, stream: "w")
        let world = VLMMemeWorld(&g)
        let words: [VLMMemeWord] = [.neutral(3), .group(1), .attack(2), .slur(2), .idiom(1), .culture(0)]
        let meme = VLMMeme(culture: 2, captionLanguage: 2, image: [.local(2), .neutral(0), .group(0), .hate(1)], caption: words)
        let t = world.translated(meme)
        #expect(t.captionLanguage == VLMMemeWorld.dominant && t.image == meme.image && t.culture == 2)
        #expect(t.caption == [.neutral(3), .group(1), .attack(2), .group(2), .neutral(world.idiomGloss[1]), .neutral(world.cultureGloss[0])])
        var english = meme
        english.culture = 0; english.captionLanguage = 0
        #expect(world.translated(english) == english)
        // The same concept has a different surface token in every language.
        #expect(Set((0..<4).map { VLMMemeWorld.token(.group(1), language: $0) }).count == 4)
        // Translation flips the local label on about a quarter of memes (slur, idiom and culture-bound sources).
        var items = SeededGenerator(seed: 2, stream: "flips")
        var flips = 0
        for _ in 0..<4000 {
            let m = VLMMemeWorld.meme(culture: 1, &items)
            if VLMMemeWorld.isHateful(m, underNormOf: 1) != VLMMemeWorld.isHateful(world.translated(m), underNormOf: 1) { flips += 1 }
            #expect(!VLMMemeWorld.isHateful(world.translated(m), underNormOf: 1) || VLMMemeWorld.isHateful(m, underNormOf: 1),
                    "translation only loses hate, never adds it")
        }
        #expect(abs(Double(flips) / 4000 - 0.25) < 0.03)
    }

    @Test func checkpointedAtRandomStepsMatchesUninterrupted() throws {
        let spec = tinyMeme()
        let reference = try finishedResult(spec)
        for seed in 2024..<2027 as Range<UInt64> {
            let (result, restores) = try runRestoringAtRandomSteps(spec, seed: seed)
            #expect(restores > 0)
            #expect(result == reference)
        }
        // The checkpoint is the spec, the cursor and the answers: no weights.
        let w = try WorkloadRegistry.make(spec)
        w.runToCompletion()
        let requests = try #require(w.inferenceRequests)
        #expect(WorkloadCheckpoint.bytes(of: w).count < 4 * requests + 600)
        let bytes = WorkloadCheckpoint.bytes(of: w)
        for cut in [1, 9, bytes.count / 2, bytes.count - 1] {
            #expect(throws: ByteDecodingError.self) { try WorkloadCheckpoint.restore(Array(bytes.prefix(cut))) }
        }
    }

    @Test func resultDoesNotDependOnDevices() throws {
        let spec = tinyMeme(worldSize: 4, ["batch": "7"])
        let one = try finishedResult(spec, devices: 1)
        #expect(try finishedResult(spec, devices: 2) == one)
        #expect(try finishedResult(spec, devices: 4) == one)
        let resized = try WorkloadRegistry.make(spec)
        var schedule = [1, 3, 2, 4, 1, 2]
        while !resized.isFinished { resized.step(devices: schedule.removeFirst()); if schedule.isEmpty { schedule = [4, 1, 3] } }
        #expect(resized.result == one)
        // Another seed is another world, vendor model and evaluation set.
        #expect(try finishedResult(tinyMeme(seed: 8, worldSize: 4, ["batch": "7"])).hash != one.hash)
    }

    @Test func requestsStepsAndFlops() throws {
        let spec = tinyMeme(["languages": "belo,arin", "conditions": "one.english.translated,zero.native.original"])
        let w = try #require(try WorkloadRegistry.make(spec) as? VLMMemeWorkload)
        #expect(w.inferenceRequests == 2 * 2 * 6)
        #expect(w.totalSteps == 5)  // 24 requests, 5 per step
        #expect(w.languages.map { VLMMemeWorld.languages[$0] } == ["arin", "belo"], "canonical order, whatever the option's order")
        #expect(w.conditions.map(\.name) == ["zero.native.original", "one.english.translated"])
        var total = 0
        while !w.isFinished { total += w.step(devices: 2).flops }
        #expect(total / w.totalSteps == w.estimatedFlopsPerStep, "forward FLOPs are exact")
        let r = try #require(w.result)
        #expect(r.metrics.map(\.name).prefix(5) == ["requests", "pretrain.loss", "hateful_share.arin", "norm_disagreement.arin", "translation_flips.arin"])
        #expect(r["macro_f1.belo.one.english.translated"] != nil && r["macro_f1.belo.zero.english.original"] == nil)
        for (name, value) in r.metrics { #expect(value.isFinite, "\(name) = \(value)") }
        // Training jobs keep the default: no requests.
        #expect(try WorkloadRegistry.make(tinySpec("rag")).inferenceRequests == nil)
    }

    @Test func theVendorModelIsPretrainedOncePerSeedAndSettings() throws {
        let a = try #require(try WorkloadRegistry.make(tinyMeme()) as? VLMMemeWorkload)
        let b = try #require(try WorkloadRegistry.make(tinyMeme(["languages": "coru"])) as? VLMMemeWorkload)
        #expect(a.vendor.parameters == b.vendor.parameters, "evaluation options do not change the vendor's model")
        let c = try #require(try WorkloadRegistry.make(tinyMeme(["pretrainSteps": "13"])) as? VLMMemeWorkload)
        #expect(c.vendor.parameters != a.vendor.parameters)
        // Pretraining from scratch gives the memoised weights.
        let fresh = VLMMemeVendorModel(seed: 7, world: a.world, settings: .init(
            layers: 1, width: 16, heads: 2, steps: 12, batch: 8, learningRate: 0.003, dominantShare: 0.7, nativeSourced: 0.5, oneShotShare: 0.25))
        #expect(fresh.parameters == a.vendor.parameters)
        // Concurrent builds of a new key (as ResultVerification makes them) pretrain once and agree.
        let spec = tinyMeme(seed: 99)
        let results = UnsafeMutableBufferPointer<Float>.allocate(capacity: 4)
        defer { results.deallocate() }
        nonisolated(unsafe) let slots = results  // each thread writes its own slot only
        DispatchQueue.concurrentPerform(iterations: 4) { i in
            let w = try! WorkloadRegistry.make(spec) as! VLMMemeWorkload
            slots[i] = w.vendor.parameters[0].scalars[0] + w.vendor.finalLoss
        }
        #expect(Set(results.map(\.bitPattern)).count == 1)
    }

    @Test func badOptionsNameTheOption() {
        expectRejectedNamingTheOption(tinyMeme(), [
            ("languages", "klingon"), ("languages", "arin,,xx"), ("conditions", "two.native.original"), ("conditions", "zero.native"),
            ("items", "0"), ("batch", "x"), ("layers", "5"), ("heads", "3"), ("dominantShare", "1.5"), ("nativeSourced", "-0.1"),
            ("pretrainSteps", "-1"),
        ])
        var unknown = tinyMeme()
        unknown.options["prompt"] = "native"
        #expect(throws: WorkloadError.self) { try WorkloadRegistry.make(unknown) }
    }

    @Test func analysePoolsJobsOfOneSeedAndComputesEveryClaim() throws {
        // One job per language of each seed, as a scenario's matrix makes them.
        var jobs: [FinishedWorkload] = []
        for seed in 1...2 as ClosedRange<UInt64> {
            for language in ["arin", "belo"] {
                let spec = tinyMeme(seed: seed, ["languages": language])
                jobs.append(FinishedWorkload(name: "s\(seed).\(language)", spec: spec, result: try finishedResult(spec)))
            }
        }
        let report = VLMMemeWorkload.analyse(jobs)
        #expect(report[value: "seeds"] == 2 && report[value: "jobs"] == 4)
        let f1 = (jobs[0].result["macro_f1.arin.zero.native.original"]! + jobs[2].result["macro_f1.arin.zero.native.original"]!) / 2
        #expect(report[value: "macro_f1.arin.zero.native.original"] == f1)
        #expect(report[value: "macro_f1.coru.zero.native.original"] == nil)
        for claim in ["translate_hurts", "native_prompt_helps", "one_shot_helps", "errors_lean_dominant"] {
            #expect(report[value: "claim.\(claim)"] != nil, "\(claim)")
            #expect(report[value: "claim.\(claim).seeds"] == 2)
        }
        #expect(report.lines.contains { $0.contains("provisional") })
    }
}

/// The verdicts on constructed results, where a claim clearly holds, clearly fails or cannot be told.
@Suite struct VLMMemeVerdictTests {
    /// A finished job of `seed` over arin and belo, every condition, with macro-F1 from
    /// `f1(condition, seed)`, 20 errors per cell of which `dominant` follow the dominant norm,
    /// and a norm disagreement of 0.2.
    static func job(seed: UInt64, dominant: Double, _ f1: (VLMMemeCondition, UInt64) -> Double) -> FinishedWorkload {
        job(seed: seed, dominant: { _ in dominant }) { _, c, s in f1(c, s) }
    }

    /// As above, with macro-F1 and dominant-norm errors per language.
    static func job(seed: UInt64, dominant: (String) -> Double, _ f1: (String, VLMMemeCondition, UInt64) -> Double) -> FinishedWorkload {
        var metrics: [(name: String, value: Double)] = []
        for language in ["arin", "belo"] {
            metrics.append(("norm_disagreement.\(language)", 0.2))
            for c in VLMMemeCondition.all {
                let cell = "\(language).\(c.name)"
                metrics += [("macro_f1.\(cell)", f1(language, c, seed)), ("accuracy.\(cell)", 0.7),
                            ("dominant_error_share.\(cell)", dominant(language) / 20),
                            ("errors.\(cell)", 20), ("dominant_errors.\(cell)", dominant(language))]
            }
        }
        return FinishedWorkload(name: "seed\(seed)", spec: WorkloadSpec(kind: "vlm-meme", seed: seed), result: WorkloadResult(metrics: metrics, hash: seed))
    }

    static func noise(_ seed: UInt64) -> Double { Double(seed % 3) * 0.01 }

    @Test func eachClaimHoldsFailsOrIsNotShownAsTheNumbersSay() {
        // The paper's pattern, clearly: original > translated, native > English, one > zero; dominant errors 12/20 vs 0.2 expected.
        let paper = (1...5 as ClosedRange<UInt64>).map { seed in
            Self.job(seed: seed, dominant: 12) { c, s in
                0.6 + (c.translated ? 0 : 0.1) + (c.nativePrompt ? 0.05 : 0) + (c.oneShot ? 0.08 : 0) + Self.noise(s)
            }
        }
        let holds = VLMMemeWorkload.analyse(paper)
        for claim in ["translate_hurts", "native_prompt_helps", "one_shot_helps", "errors_lean_dominant"] {
            #expect(holds[value: "claim.\(claim)"] == 1, "\(claim)")
        }
        #expect(abs(holds[value: "claim.translate_hurts.mean"]! - 0.1) < 1e-9)
        #expect(abs(holds[value: "claim.errors_lean_dominant.mean"]! - 0.4) < 1e-9)
        #expect(holds.lines.contains { $0.contains("holds: mean +0.100") })
        // The opposite, clearly; and errors spread exactly as chance would put them.
        let reversed = (1...5 as ClosedRange<UInt64>).map { seed in
            Self.job(seed: seed, dominant: 4) { c, s in 0.6 + (c.translated ? 0.1 : 0) + (c.nativePrompt ? 0 : 0.05) + (c.oneShot ? 0 : 0.08) + Self.noise(s) }
        }
        let opposite = VLMMemeWorkload.analyse(reversed)
        for claim in ["translate_hurts", "native_prompt_helps", "one_shot_helps"] { #expect(opposite[value: "claim.\(claim)"] == -1) }
        #expect(abs(opposite[value: "claim.errors_lean_dominant.mean"]!) < 1e-12)
        // Differences that change sign from seed to seed: not shown.
        let mixed = (1...5 as ClosedRange<UInt64>).map { seed in
            Self.job(seed: seed, dominant: seed % 2 == 0 ? 8 : 0) { c, s in 0.6 + (c.translated == (s % 2 == 0) ? 0.05 : 0) }
        }
        let unclear = VLMMemeWorkload.analyse(mixed)
        #expect(unclear[value: "claim.translate_hurts"] == 0)
        #expect(unclear[value: "claim.errors_lean_dominant"] == 0)
        #expect(unclear[value: "claim.native_prompt_helps.low"] == 0 && unclear[value: "claim.native_prompt_helps.high"] == 0)
        // One seed: not testable.
        #expect(VLMMemeWorkload.analyse([paper[0]])[value: "claim.translate_hurts"] == nil)
    }

    @Test func eachLanguageGetsItsOwnVerdict() {
        // Translation hurts arin by 0.1 and helps belo by 0.1: pooled, nothing is shown; per
        // language, it holds in arin and the opposite holds in belo. Errors lean dominant only in arin.
        let split = (1...5 as ClosedRange<UInt64>).map { seed in
            Self.job(seed: seed, dominant: { $0 == "arin" ? 12 : 4 }) { language, c, s in
                0.6 + (c.translated ? 0 : (language == "arin" ? 0.1 : -0.1)) + Self.noise(s)
            }
        }
        let report = VLMMemeWorkload.analyse(split)
        #expect(report[value: "claim.translate_hurts"] == 0)
        #expect(report[value: "claim.translate_hurts.arin"] == 1)
        #expect(report[value: "claim.translate_hurts.belo"] == -1)
        #expect(abs(report[value: "claim.translate_hurts.belo.mean"]! + 0.1) < 1e-9)
        #expect(report[value: "claim.translate_hurts.belo.seeds"] == 5)
        #expect(report[value: "claim.errors_lean_dominant.arin"] == 1)
        #expect(abs(report[value: "claim.errors_lean_dominant.belo.mean"]!) < 1e-12)
        // coru has no jobs here: its claims are not testable, and say so.
        #expect(report[value: "claim.translate_hurts.coru"] == nil)
        #expect(report.lines.contains { $0.contains("in coru: not testable") })
        #expect(report.lines.contains { $0.hasPrefix("Claim 'translate-then-detect hurts") && $0.contains("in belo: the opposite holds") })
    }

    @Test func intervalsUseStudentT() throws {
        let e = try #require(VLMMemeAnalysis.estimate([1, 2, 3, 4, 5]))
        #expect(e.mean == 3)
        #expect(abs((e.high - e.mean) - 2.776 * (2.5).squareRoot() / (5).squareRoot()) < 1e-12)
        #expect(VLMMemeAnalysis.estimate([1]) == nil)
        #expect(VLMMemeAnalysis.tQuantile(100) == 1.96)
    }
}

/// The default configuration over seeds 1...VLM_FULL_RUN (at least 5), printing every job's
/// metrics and the analysis; run only when VLM_FULL_RUN is set (a minute or more in debug).
@Suite struct VLMMemeFullRun {
    @Test(.enabled(if: ProcessInfo.processInfo.environment["VLM_FULL_RUN"] != nil))
    func defaultConfigurationOverSeeds() throws {
        let seeds = max(5, Int(ProcessInfo.processInfo.environment["VLM_FULL_RUN"] ?? "") ?? 5)
        var extra: [String: String] = [:]
        for pair in (ProcessInfo.processInfo.environment["VLM_OPTIONS"] ?? "").split(separator: ";") {
            let kv = pair.split(separator: "=")
            if kv.count == 2 { extra[String(kv[0])] = String(kv[1]) }
        }
        var jobs: [FinishedWorkload] = []
        for seed in 1...seeds {
            let spec = WorkloadSpec(kind: "vlm-meme", seed: UInt64(seed), options: extra)
            let result = try finishedResult(spec)
            print("seed \(seed): pretrain.loss \(result["pretrain.loss"]!)")
            jobs.append(FinishedWorkload(name: "seed\(seed)", spec: spec, result: result))
        }
        let report = VLMMemeWorkload.analyse(jobs)
        for line in report.lines { print(line) }
    }
}
