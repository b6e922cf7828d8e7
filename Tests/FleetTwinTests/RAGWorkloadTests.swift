import FleetTwinEngine
import FleetTwinTensor
@testable import FleetTwinWorkloads
import Foundation
import Testing

/// A tiny RAG job that runs in well under a second in a debug build.
private func tinyRAG(seed: UInt64 = 7, worldSize: Int = 1, _ extra: [String: String] = [:]) -> WorkloadSpec {
    tinySpec("rag", seed: seed, worldSize: worldSize, extra)
}

private func finished(_ spec: WorkloadSpec, devices: Int = 1) throws -> any Workload {
    let w = try WorkloadRegistry.make(spec)
    w.runToCompletion(devices: devices)
    return w
}


@Suite("RAGWorkload: RAG mechanistic probes")
struct RAGWorkloadTests {
    @Test func checkpointedAtRandomStepsMatchesUninterrupted() throws {
        let spec = tinyRAG()
        let reference = try finished(spec)
        for seed in 2024..<2027 as Range<UInt64> {
            let (result, restores) = try runRestoringAtRandomSteps(spec, seed: seed)
            #expect(restores > 0)
            #expect(result == reference.result)
        }
        // Preempted in the middle of probing (probe sums are part of the state).
        var w = try WorkloadRegistry.make(spec)
        for _ in 0..<(w.totalSteps - 2) { w.step(devices: 1) }
        w = try WorkloadCheckpoint.restore(WorkloadCheckpoint.bytes(of: w))
        w.runToCompletion()
        #expect(w.result == reference.result)
    }

    @Test func resultDoesNotDependOnDevices() throws {
        let spec = tinyRAG(worldSize: 4, ["batch": "8"])
        let one = try finished(spec, devices: 1)
        let two = try finished(spec, devices: 2)
        let resized = try WorkloadRegistry.make(spec)
        var schedule = [1, 3, 2, 4, 1, 2]
        while !resized.isFinished { resized.step(devices: schedule.removeFirst() ) ; if schedule.isEmpty { schedule = [4, 1, 3] } }
        #expect(one.result!.hash == two.result!.hash)
        #expect(one.result == resized.result)
        // World size is part of the result (the batch is split differently), devices are not.
        let single = try finished(tinyRAG(worldSize: 1, ["batch": "8"]))
        #expect(single.result!.hash != one.result!.hash)
    }

    @Test func scienceNumbersAreComputedAndSeedDependent() throws {
        let a = try finished(tinyRAG(seed: 1)).result!
        let b = try finished(tinyRAG(seed: 2)).result!
        let moved = ["aie.subject.no_context", "aie.last.with_context", "knockout.subject.no_context",
                     "knockout.answer.with_context", "p.clean.with_context"].filter { a[$0] != b[$0] }
        #expect(moved.count >= 4, "a different seed should move the probe numbers: \(moved)")
        #expect(a.metrics.map(\.name) == b.metrics.map(\.name))
        #expect(a["probes"] == 3)
        for (name, value) in a.metrics { #expect(value.isFinite, "\(name) = \(value)") }
    }

    @Test func tracingAndKnockoutMechanics() throws {
        let w = try #require(try WorkloadRegistry.make(tinyRAG()) as? RAGWorkload)
        for _ in 0..<6 { w.step(devices: 1) }
        for withContext in [false, true] {
            let prompt = w.probePrompt(1, withContext: withContext)
            let everywhere = Array(0..<prompt.tokens.count)
            let clean = w.answerProbability(probe: 1, withContext: withContext)
            let corrupted = w.answerProbability(probe: 1, withContext: withContext, corrupted: true)
            #expect(clean != corrupted, "noise of 3x the embedding std must change P(answer)")
            // Restoring every position at any layer gives back the clean run exactly.
            for layer in 0...2 {
                #expect(w.answerProbability(probe: 1, withContext: withContext, corrupted: true,
                                            restoring: .hidden(layer: layer), at: everywhere) == clean)
            }
            // Restoring the corrupted positions' embeddings is the clean run too.
            #expect(w.answerProbability(probe: 1, withContext: withContext, corrupted: true,
                                        restoring: .hidden(layer: 0), at: prompt.corruptedPositions) == clean)
            // Restoring the last position after the last block fixes the logits.
            #expect(w.answerProbability(probe: 1, withContext: withContext, corrupted: true,
                                        restoring: .hidden(layer: 2), at: [prompt.lastPosition]) == clean)
            // Restoring nothing is the corrupted run; knocking out nothing drops nothing.
            #expect(w.answerProbability(probe: 1, withContext: withContext, corrupted: true,
                                        restoring: .mlp(layer: 1), at: []) == corrupted)
            #expect(w.answerProbability(probe: 1, withContext: withContext, blockingLastFrom: []) == clean)
            #expect(w.answerProbability(probe: 1, withContext: withContext, blockingLastFrom: prompt.subjectPositions) != clean)
            // The prompt layout the probes address.
            let k = prompt.subjectPositions.count
            #expect(prompt.subjectLastPosition == prompt.lastPosition - 1)
            #expect(prompt.subjectPositions == Array((prompt.lastPosition - k)..<prompt.lastPosition))
            if withContext {
                let answerAt = try #require(prompt.contextAnswerPosition)
                #expect(prompt.tokens[answerAt] == prompt.answer)
                #expect(Array(prompt.tokens[(answerAt - 1 - k)..<(answerAt - 1)]) == prompt.subjectPositions.map { prompt.tokens[$0] })
                #expect(prompt.corruptedPositions == Array(1...(prompt.lastPosition - 1)))
            } else {
                #expect(prompt.corruptedPositions == prompt.subjectPositions)
            }
        }
    }

    @Test func stackedSequencesDoNotAttendAcrossEachOther() throws {
        let w = try #require(try WorkloadRegistry.make(tinyRAG()) as? RAGWorkload)
        let prompts = [w.probePrompt(0, withContext: true), w.probePrompt(1, withContext: false), w.probePrompt(2, withContext: true)]
        let tape = Tape()
        let p = w.parameters.map(tape.leaf)
        let batched = tape.value(w.model.forward(tape, p, prompts.map(\.tokens)).logits)
        for (i, prompt) in prompts.enumerated() {
            let alone = tape.value(w.model.forward(tape, p, [prompt.tokens]).logits)
            #expect(alone.scalars == batched.rows(i..<(i + 1)).scalars)
        }
    }

    @Test func badOptionsNameTheOption() {
        let cases: [(String, String)] = [("layers", "5"), ("layers", "two"), ("heads", "3"), ("batch", "6"),
                                         ("counterfactual", "1.5"), ("noiseScale", "-1"), ("segments", "0"), ("steps", "x")]
        expectRejectedNamingTheOption(tinyRAG(worldSize: 4, ["batch": "8"]), cases.map { (key: $0.0, value: $0.1) })
        var unknown = tinyRAG()
        unknown.options["depth"] = "3"
        #expect(throws: WorkloadError.self) { try WorkloadRegistry.make(unknown) }
    }

    @Test func checkpointBytesAreStableAndTruncationThrows() throws {
        let spec = tinyRAG()
        let a = try WorkloadRegistry.make(spec), b = try WorkloadRegistry.make(spec)
        for _ in 0..<7 { a.step(devices: 1); b.step(devices: 1) }
        let bytes = WorkloadCheckpoint.bytes(of: a)
        #expect(bytes == WorkloadCheckpoint.bytes(of: b))
        #expect(WorkloadCheckpoint.bytes(of: try WorkloadCheckpoint.restore(bytes)) == bytes)
        for cut in [1, 9, bytes.count / 3, bytes.count / 2, bytes.count - 9, bytes.count - 1] {
            #expect(throws: ByteDecodingError.self) { try WorkloadCheckpoint.restore(Array(bytes.prefix(cut))) }
        }
        #expect(throws: ByteDecodingError.self) { try WorkloadCheckpoint.restore(bytes + [0]) }
    }

    @Test func estimatedFlopsMatchMeasured() throws {
        let w = try #require(try WorkloadRegistry.make(tinyRAG(worldSize: 2, ["batch": "8", "steps": "8"])) as? RAGWorkload)
        var training = 0, probing = 0, total = 0
        while !w.isFinished {
            let training0 = w.stepsCompleted < 8
            let f = w.step(devices: 2).flops
            total += f
            if training0 { training += f } else { probing += f }
        }
        let average = Double(total) / Double(w.totalSteps)
        let ratio = average / Double(w.estimatedFlopsPerStep)
        #expect(ratio > 0.5 && ratio < 2, "measured \(average) vs estimated \(w.estimatedFlopsPerStep)")
        // Per phase: training depends on the context mix sampled; probing is exact.
        let trainingRatio = Double(training) / 8 / Double(w.estimatedTrainingFlopsPerStep)
        #expect(trainingRatio > 0.5 && trainingRatio < 2)
        #expect(probing / 3 == w.estimatedProbeFlopsPerStep)
    }

    @Test func analyseComparesWithAndWithoutContext() throws {
        let jobs = try [1, 2].map { seed in
            FinishedWorkload(name: "seed\(seed)", spec: tinyRAG(seed: UInt64(seed)), result: try finished(tinyRAG(seed: UInt64(seed))).result!)
        }
        let report = RAGWorkload.analyse(jobs)
        #expect(report.lines.count > 1 + jobs.count + 3)
        #expect(report[value: "claim.subject_mlp_effect_falls"] != nil)
        #expect(report[value: "aie.subject_mlp.no_context.seeds"] == 2)
        let no = (jobs[0].result["aie.subject.no_context"]! + jobs[1].result["aie.subject.no_context"]!) / 2
        let with = (jobs[0].result["aie.subject.with_context"]! + jobs[1].result["aie.subject.with_context"]!) / 2
        #expect(report[value: "mean.aie.subject.no_context"] == no)
        #expect(report[value: "subject_effect_ratio"] == (no > 0 ? with / no : 0))
        #expect(report[value: "jobs"] == 2)
        #expect(report[value: "seed1.subject_ratio"] != nil)
    }

    /// The default configuration, run only when RAG_FULL_RUN=1 (minutes in debug).
    @Test(.enabled(if: ProcessInfo.processInfo.environment["RAG_FULL_RUN"] == "1"))
    func defaultConfiguration() throws {
        let w = try finished(WorkloadSpec(kind: "rag", seed: 1))
        for (name, value) in w.result!.metrics { print("\(name) \(value)") }
    }
}

@Suite("RAG: the paper's context design")
struct RAGContextDesignTests {
    /// Every segment is about the question's subject; exactly one states (s, r) and its
    /// object; the others state (s, r') with r' != r and its memorised object, or mention s
    /// with fillers only. So the subject alone cannot find the answer segment.
    @Test func segmentsAreAboutTheSubjectAndExactlyOneHoldsTheAnswer() throws {
        let spec = tinyRAG(["segments": "5", "relations": "3", "subjects": "6", "segmentFillers": "2"])
        let w = try #require(try WorkloadRegistry.make(spec) as? RAGWorkload)
        let v = w.facts.vocabulary
        var kinds = [0, 0]
        for probe in 0..<40 {
            let prompt = w.probePrompt(probe, withContext: true)
            let k = w.facts.subjectLength
            let name = prompt.subjectPositions.map { prompt.tokens[$0] }, r = prompt.tokens[prompt.lastPosition]
            let subject = try #require((0..<w.facts.subjects).first { w.facts.mention($0) == name })
            let mentions = w.facts.contextSubjectPositions(prompt)
            #expect(mentions.count == 5 * k)
            let starts = stride(from: 0, to: mentions.count, by: k).map { mentions[$0] }
            var answers = 0
            for start in starts {
                #expect(Array(prompt.tokens[start..<(start + k)]) == name, "every segment mentions the subject")
                let second = prompt.tokens[start + k], third = prompt.tokens[start + k + 1]
                if second == r {
                    answers += 1
                    #expect(start + k + 1 == prompt.contextAnswerPosition && third == prompt.answer)
                } else if second >= v.relation(0) && second < v.object(0) {
                    let rel = second - v.relation(0)
                    #expect(third == v.object(w.facts.memorised(subject, rel)), "another relation's memorised object")
                    kinds[0] += 1
                } else {
                    #expect(second >= v.filler(0) && third >= v.filler(0), "a mention without relation or object")
                    kinds[1] += 1
                }
            }
            #expect(answers == 1, "exactly one segment holds the answer")
        }
        #expect(kinds[0] > 20 && kinds[1] > 20, "both kinds of other segment occur: \(kinds)")
        // With one relation there is no other relation to state: mentions only.
        let single = try #require(try WorkloadRegistry.make(tinyRAG(["relations": "1", "segments": "4"])) as? RAGWorkload)
        let prompt = single.probePrompt(0, withContext: true)
        let k = single.facts.subjectLength
        let mentions = single.facts.contextSubjectPositions(prompt)
        for start in stride(from: 0, to: mentions.count, by: k).map({ mentions[$0] }) where start + k + 1 != prompt.contextAnswerPosition {
            #expect(prompt.tokens[start + k] >= single.facts.vocabulary.filler(0))
        }
    }

    @Test func knockoutOfEverySubjectMentionIsReported() throws {
        let result = try finished(tinyRAG()).result!
        let all = try #require(result["knockout.subject_all.with_context"])
        #expect(all.isFinite && all != result["knockout.subject.with_context"])
        // The pre-issue-20 metrics keep their order; the first-token and attention sites follow.
        let names = result.metrics.map(\.name)
        let at = try #require(names.firstIndex(of: "knockout.subject_all.with_context"))
        #expect(names[at + 1] == "aie.subject_first.no_context")
        #expect(names.last == "aie.last_attn.with_context.layer2")
    }
}

@Suite("RAG: multi-token subjects (issue 20)")
struct RAGMultiTokenSubjectTests {
    /// Subject names have the configured token count everywhere a subject is written, names
    /// are distinct, and one token per subject is the old layout (subject s = token s).
    @Test(arguments: [1, 2, 3])
    func subjectsHaveTheConfiguredTokenCount(k: Int) throws {
        let w = try #require(try WorkloadRegistry.make(tinyRAG(["subjectTokens": "\(k)", "subjects": "12", "segments": "3"]
            .merging(k == 1 ? ["subjectVocabulary": "12"] : [:]) { $1 })) as? RAGWorkload)
        let f = w.facts, v = f.vocabulary
        #expect(f.subjectLength == k && f.names.count == 12 && f.names.allSatisfy { $0.count == k })
        #expect(Set(f.names).count == 12, "names are distinct")
        if k == 1 {
            #expect(f.names == (0..<12).map { [$0] } && v.subjectTokens == 12)
        } else {
            // 12 subjects over 8 tokens: some last token is shared, so no one token names a subject.
            #expect(v.subjectTokens == 8 && Set(f.names.map { $0[k - 1] }).count < 12)
        }
        for probe in 0..<8 {
            let closed = w.probePrompt(probe, withContext: false)
            #expect(closed.tokens.count == 2 + k && closed.subjectPositions == Array(1...k))
            #expect(closed.corruptedPositions == closed.subjectPositions)
            let context = w.probePrompt(probe, withContext: true)
            #expect(context.tokens.count == f.contextLength && context.subjectPositions.count == k)
            let name = context.subjectPositions.map { context.tokens[$0] }
            #expect(name == closed.subjectPositions.map { closed.tokens[$0] })
            #expect(f.names.map { $0.map(v.subject) }.contains(name))
            // Subject tokens occur only in the mentions: k per segment and k in the query.
            let subjectTokens = context.tokens.indices.filter { v.isSubject(context.tokens[$0]) }
            #expect(subjectTokens == w.subjectMentionPositions(context) && subjectTokens.count == k * 4)
        }
        // The defaults: two tokens per subject, drawn from eight subject tokens.
        let defaults = try #require(try WorkloadRegistry.make(WorkloadSpec(kind: "rag", seed: 1)) as? RAGWorkload)
        #expect(defaults.facts.subjectLength == 2 && defaults.facts.vocabulary.subjectTokens == 8 && defaults.facts.subjects == 32)
    }

    @Test func badSubjectOptionsNameTheOption() {
        expectRejectedNamingTheOption(tinyRAG(), [("subjectTokens", "5"), ("subjectTokens", "0"),
                                                  ("subjectVocabulary", "2"), ("subjectVocabulary", "0")])
        expectRejectedNamingTheOption(tinyRAG(["subjectTokens": "1"]), [("subjectVocabulary", "8")])
    }

    /// The tracing's "subject" sites restore the subject's LAST token (the paper's), the
    /// "subject_first" sites its first: each reported per-layer effect (one probe, so the mean
    /// is that probe's value) equals the effect recomputed at that position, and the two differ.
    @Test func tracingReportsTheSubjectsLastToken() throws {
        let w = try #require(try WorkloadRegistry.make(tinyRAG(["subjectTokens": "3", "probes": "1"])) as? RAGWorkload)
        w.runToCompletion(devices: 1)
        let result = try #require(w.result)
        var differ = 0
        for (withContext, variant) in [(false, "no_context"), (true, "with_context")] {
            let prompt = w.probePrompt(0, withContext: withContext)
            #expect(prompt.subjectLastPosition == prompt.subjectPositions[2] && prompt.subjectFirstPosition == prompt.subjectPositions[0])
            let corrupted = w.answerProbability(probe: 0, withContext: withContext, corrupted: true)
            func effect(_ site: RAGSite, _ at: Int) -> Double {
                w.answerProbability(probe: 0, withContext: withContext, corrupted: true, restoring: site, at: [at]) - corrupted
            }
            for l in 1...2 {
                let sites: [(String, RAGSite, Int)] = [
                    ("subject", .hidden(layer: l), prompt.subjectLastPosition), ("subject_mlp", .mlp(layer: l), prompt.subjectLastPosition),
                    ("subject_attn", .attention(layer: l), prompt.subjectLastPosition),
                    ("subject_first", .hidden(layer: l), prompt.subjectFirstPosition),
                    ("subject_first_mlp", .mlp(layer: l), prompt.subjectFirstPosition),
                    ("subject_first_attn", .attention(layer: l), prompt.subjectFirstPosition),
                    ("last", .hidden(layer: l), prompt.lastPosition), ("last_mlp", .mlp(layer: l), prompt.lastPosition),
                    ("last_attn", .attention(layer: l), prompt.lastPosition)]
                for (name, site, at) in sites {
                    #expect(result["aie.\(name).\(variant).layer\(l)"] == effect(site, at), "\(name) layer \(l) \(variant)")
                }
                if result["aie.subject.\(variant).layer\(l)"] != result["aie.subject_first.\(variant).layer\(l)"] { differ += 1 }
            }
            // The embedding site restores every subject token.
            #expect(result["aie.subject_embedding.\(variant)"]
                == w.answerProbability(probe: 0, withContext: withContext, corrupted: true, restoring: .hidden(layer: 0),
                                       at: prompt.subjectPositions) - corrupted)
        }
        #expect(differ >= 2, "last and first subject tokens are different sites")
    }

    /// The subject knockouts block every subject token: the query's (all k) and, for the
    /// "every mention" knockout, each segment's k too; blocking the last token alone differs.
    @Test func knockoutsCoverEverySubjectToken() throws {
        let w = try #require(try WorkloadRegistry.make(tinyRAG(["subjectTokens": "3", "probes": "1"])) as? RAGWorkload)
        w.runToCompletion(devices: 1)
        let result = try #require(w.result)
        func drop(_ withContext: Bool, _ blocked: [Int]) -> Double {
            let clean = w.answerProbability(probe: 0, withContext: withContext)
            return (clean - w.answerProbability(probe: 0, withContext: withContext, blockingLastFrom: blocked)) / clean
        }
        for (withContext, variant) in [(false, "no_context"), (true, "with_context")] {
            let prompt = w.probePrompt(0, withContext: withContext)
            #expect(prompt.subjectPositions.count == 3)
            #expect(result["knockout.subject.\(variant)"] == drop(withContext, prompt.subjectPositions))
            #expect(result["knockout.subject.\(variant)"] != drop(withContext, [prompt.subjectLastPosition]))
        }
        let context = w.probePrompt(0, withContext: true)
        let mentions = w.subjectMentionPositions(context)
        #expect(mentions.count == 3 * (2 + 1) && mentions == context.tokens.indices.filter { w.facts.vocabulary.isSubject(context.tokens[$0]) })
        #expect(result["knockout.subject_all.with_context"] == drop(true, mentions))
    }

    /// Preemption and restore, and the device count, leave the result bit-identical for one
    /// and three subject tokens too (the default two is covered above).
    @Test(arguments: ["1", "3"])
    func restoreAndDevicesAreExact(k: String) throws {
        let options = ["subjectTokens": k, "batch": "8"].merging(k == "1" ? ["subjectVocabulary": "6"] : [:]) { $1 }
        let spec = tinyRAG(worldSize: 4, options)
        let reference = try finished(spec, devices: 4)
        let (result, restores) = try runRestoringAtRandomSteps(spec, seed: 11)
        #expect(restores > 0 && result == reference.result)
        #expect(try finished(spec, devices: 2).result == reference.result)
    }
}

@Suite struct RAGSeedClaimTests {
    private func job(_ seed: Int, _ values: [String: Double]) -> FinishedWorkload {
        let metrics = values.keys.sorted().map { (name: $0, value: values[$0]!) }
        return FinishedWorkload(name: "s\(seed)", spec: WorkloadSpec(kind: "rag", seed: UInt64(seed)),
                                result: WorkloadResult(metrics: metrics, hash: 0))
    }

    /// Synthetic results with a known answer: the paper's pattern (0.2 -> 0.04, knockouts
    /// 0.02 vs 0.22) holds; the reverse does not.
    @Test func verdictsFollowTheIntervals() {
        let paper = (1...5).map { i -> FinishedWorkload in
            let e = Double(i) * 0.002
            return job(i, ["aie.subject_mlp.no_context": 0.2 + e, "aie.subject_mlp.with_context": 0.04 - e,
                           "knockout.subject.with_context": 0.02 + e, "knockout.subject_all.with_context": 0.03,
                           "knockout.answer.with_context": 0.22 - e])
        }
        let claims = RAGAnalysis.claims(paper).verdicts
        func holds(_ c: [RAGAnalysis.Claim], _ name: String) -> Bool { c.first { $0.name == name }!.holds }
        #expect(holds(claims, "subject_mlp_effect_falls"))
        #expect(holds(claims, "subject_knockout_small"))
        #expect(holds(claims, "answer_knockout_exceeds_subject"))
        #expect(!holds(claims, "subject_effect_falls"), "all-zero hidden effects cannot fall")
        let reverse = (1...5).map { i in
            job(i, ["aie.subject_mlp.no_context": 0.04, "aie.subject_mlp.with_context": 0.2 + Double(i) * 0.01,
                    "knockout.subject.with_context": 0.5, "knockout.answer.with_context": 0.3 + Double(i) * 0.01])
        }
        let r = RAGAnalysis.claims(reverse).verdicts
        #expect(!holds(r, "subject_mlp_effect_falls") && !holds(r, "subject_knockout_small") && !holds(r, "answer_knockout_exceeds_subject"))
        // One seed gives no interval, so no claim can hold.
        #expect(RAGAnalysis.claims(Array(paper.prefix(1))).verdicts.allSatisfy { !$0.holds })
    }
}

@Suite struct SeedIntervalTests {
    @Test func knownAnswers() {
        let i = SeedInterval([1, 2, 3, 4, 5])
        #expect(i.mean == 3)
        // s = sqrt(2.5), t(4) = 2.776: half-width 2.776 * sqrt(2.5 / 5) = 1.963.
        #expect(abs(i.halfWidth! - 1.963) < 0.002)
        #expect(i.above(0.9) && !i.above(1.1) && i.below(5) && !i.below(4.9))
        #expect(SeedInterval([4]).halfWidth == nil && !SeedInterval([4]).above(0))
        let table: [Double] = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.086]
        for (k, t) in table.enumerated() {
            let df = k < 10 ? k + 1 : 20
            #expect(abs(SeedInterval.studentQuantile975(degreesOfFreedom: df) - t) < 0.004, "df \(df)")
        }
    }
}

@Suite struct RAGVerdictTests {
    @Test func aSharpFallMustShowInMostJobs() {
        #expect(RAGAnalysis.verdict(meanRatio: 0.1, falls: 2, jobs: 3).contains("holds"))
        #expect(RAGAnalysis.verdict(meanRatio: 0.1, falls: 1, jobs: 2).contains("not robust"))
        #expect(RAGAnalysis.verdict(meanRatio: 0.7, falls: 2, jobs: 2).contains("less than 2x"))
        #expect(RAGAnalysis.verdict(meanRatio: 1.3, falls: 0, jobs: 2).contains("does not hold"))
    }
}
