import Foundation

extension ECIWorkload {
    /// A table per negative set, the rank correlation of ECI with the student's nDCG@10, and a
    /// computed verdict for each of the paper's three claims on this run.
    ///
    /// Values: "spearman.eci.ndcg@10" (also hardness, safety, false_negative_share against
    /// nDCG@10, and "spearman.false_negative_share.eci" / ".safety"), per set "SET.eci",
    /// "SET.capacity", "SET.hardness", "SET.safety", "SET.false_negative_share", "SET.ndcg@10",
    /// "SET.mrr@10", and "claim.eci_predicts_quality", "claim.false_negatives_penalised",
    /// "claim.hybrid_balance" (1 supported, 0 not; absent when the jobs cannot test it). Several
    /// seeds of one set (same negatives, planted rate and K) make one row of means over seeds;
    /// then `seedAnalysis` judges the claims over seeds for ECI and each variant reading.
    public static func analyse(_ jobs: [FinishedWorkload]) -> WorkloadReport {
        struct Row { var label: String; var source: ECINegativeSource?; var k: Int; var falseNegativeRate: Double; var result: WorkloadResult }
        // One row per set (negatives, planted rate, K); several seeds of a set become one row
        // whose metrics are the means over its seeds (and `perSeed` keeps each seed's jobs).
        var rows: [Row] = []
        var seedsOfRow: [[(seed: UInt64, result: WorkloadResult)]] = []
        for job in jobs where job.spec.kind == kind {
            let source = ECINegativeSource(rawValue: job.spec.options["negatives"] ?? ECINegativeSource.bm25.rawValue)
            var label = source?.rawValue ?? (job.spec.options["negatives"] ?? "?")
            if source?.usesGenerator == true, let rate = job.spec.options["falseNegativeRate"] { label += "(fnr=\(rate))" }
            let defaults = Configuration()
            let k = Int(job.spec.options["k"] ?? "") ?? defaults.k
            if let i = rows.firstIndex(where: { $0.label == label && $0.k == k }),
               !seedsOfRow[i].contains(where: { $0.seed == job.spec.seed }) {
                seedsOfRow[i].append((job.spec.seed, job.result))
                continue
            }
            if rows.contains(where: { $0.label == label }) { label += "[\(job.name)]" }
            rows.append(Row(label: label, source: source, k: k,
                            falseNegativeRate: Double(job.spec.options["falseNegativeRate"] ?? "") ?? defaults.falseNegativeRate,
                            result: job.result))
            seedsOfRow.append([(job.spec.seed, job.result)])
        }
        for i in rows.indices where seedsOfRow[i].count > 1 {
            let members = seedsOfRow[i].map(\.result)
            rows[i].result = WorkloadResult(metrics: members[0].metrics.map { m in
                (m.name, members.reduce(0) { $0 + ($1[m.name] ?? 0) } / Double(members.count))
            }, hash: members[0].hash)
        }
        var lines: [String] = []
        var values: [(name: String, value: Double)] = []
        func f(_ x: Double?) -> String { x.map { String(format: "%.3f", $0) } ?? "-" }
        func pad(_ s: String, _ w: Int) -> String { s.count >= w ? s : s + String(repeating: " ", count: w - s.count) }
        func lpad(_ s: String, _ w: Int) -> String { s.count >= w ? s : String(repeating: " ", count: w - s.count) + s }

        let width = max(20, (rows.map(\.label.count).max() ?? 0) + 2)
        let columns = ["K", "capacity", "hardness", "safety", "ECI", "FN share", "nDCG@10", "MRR@10"]
        lines.append(pad("set", width) + columns.map { lpad($0, 9) }.joined())
        for row in rows {
            let r = row.result
            let cells = [String(row.k), f(r["capacity"]), f(r["hardness"]), f(r["safety"]), f(r["eci"]),
                         f(r["false_negative_share"]), f(r["ndcg@10"]), f(r["mrr@10"])]
            lines.append(pad(row.label, width) + cells.map { lpad($0, 9) }.joined())
            for name in ["eci", "capacity", "hardness", "safety", "false_negative_share", "ndcg@10", "mrr@10"] {
                if let v = r[name] { values.append(("\(row.label).\(name)", v)) }
            }
        }
        if let bm25 = rows.first?.result["bm25.ndcg@10"] {
            lines.append("BM25 itself on the held-out queries: nDCG@10 \(f(bm25)), MRR@10 \(f(rows.first?.result["bm25.mrr@10"]))")
        }

        func column(_ name: String) -> [Double] { rows.map { $0.result[name] ?? .nan } }
        let ndcg = column("ndcg@10")
        var rhoECI: Double?
        for part in ["eci", "hardness", "safety", "false_negative_share"] {
            if let rho = RetrievalMetrics.spearman(column(part), ndcg) {
                values.append(("spearman.\(part).ndcg@10", rho))
                if part == "eci" { rhoECI = rho }
            }
        }
        let fns = column("false_negative_share")
        let rhoSafety = RetrievalMetrics.spearman(fns, column("safety"))
        let rhoFNECI = RetrievalMetrics.spearman(fns, column("eci"))
        if let rhoSafety { values.append(("spearman.false_negative_share.safety", rhoSafety)) }
        if let rhoFNECI { values.append(("spearman.false_negative_share.eci", rhoFNECI)) }
        lines.append("Spearman rank correlation with nDCG@10 over \(rows.count) sets: ECI \(f(rhoECI)), hardness \(f(values.first { $0.name == "spearman.hardness.ndcg@10" }?.value)), safety \(f(values.first { $0.name == "spearman.safety.ndcg@10" }?.value)), false-negative share \(f(values.first { $0.name == "spearman.false_negative_share.ndcg@10" }?.value))")

        // Claim 1: ECI predicts downstream quality (rho >= 0.5 over at least three sets).
        if rows.count >= 3, let rho = rhoECI {
            let ok = rho >= 0.5
            values.append(("claim.eci_predicts_quality", ok ? 1 : 0))
            lines.append("Claim 'ECI predicts downstream quality': \(ok ? "SUPPORTED" : "NOT SUPPORTED") on this run (Spearman \(f(rho)); the bar is >= 0.5)")
        } else {
            lines.append("Claim 'ECI predicts downstream quality': not testable (needs three or more sets with distinct values)")
        }

        // Claim 2: planted false negatives are penalised (the truer false-negative share, the lower ECI).
        if rows.count >= 3, let rhoFNECI {
            let ok = rhoFNECI <= -0.5
            values.append(("claim.false_negatives_penalised", ok ? 1 : 0))
            lines.append("Claim 'false negatives are penalised': \(ok ? "SUPPORTED" : "NOT SUPPORTED") on this run (Spearman of true FN share with ECI \(f(rhoFNECI)), with safety \(f(rhoSafety)); the bar is <= -0.5)")
        } else {
            lines.append("Claim 'false negatives are penalised': not testable (needs three or more sets whose false-negative shares differ)")
        }
        let llmRows = rows.filter { $0.source == .llm }.sorted { $0.falseNegativeRate < $1.falseNegativeRate }
        if llmRows.count >= 2 {
            let safeties = llmRows.map { $0.result["safety"] ?? .nan }
            let falling = zip(safeties, safeties.dropFirst()).allSatisfy { $0 > $1 }
            lines.append("  LLM sets by planted share: safety " + llmRows.map { "\($0.label) \(f($0.result["safety"]))" }.joined(separator: ", ")
                         + (falling ? " (falls as the rate rises)" : " (does not fall monotonically)"))
        }

        // Claim 3: hybrids balance volume and safety: a hybrid's ECI is at least both its parents'.
        var hybridVerdicts: [Bool] = []
        for row in rows {
            guard let parents = row.source?.parents,
                  let a = rows.first(where: { $0.source == parents.0 && $0.k == row.k }),
                  let b = rows.first(where: { $0.source == parents.1 && $0.k == row.k }),
                  let e = row.result["eci"], let ea = a.result["eci"], let eb = b.result["eci"] else { continue }
            let ok = e >= max(ea, eb)
            hybridVerdicts.append(ok)
            let n = row.result["ndcg@10"] ?? .nan, na = a.result["ndcg@10"] ?? .nan, nb = b.result["ndcg@10"] ?? .nan
            lines.append("  \(row.label): ECI \(f(e)) vs \(a.label) \(f(ea)), \(b.label) \(f(eb)) -> \(ok ? "above both" : "not above both"); hardness \(f(row.result["hardness"])) safety \(f(row.result["safety"])); nDCG@10 \(f(n)) vs \(f(na)), \(f(nb)) -> \(n >= max(na, nb) ? "above both" : "not above both")")
        }
        if hybridVerdicts.isEmpty {
            lines.append("Claim 'hybrid sets balance volume and safety': not testable (needs a hybrid and both its parents)")
        } else {
            let ok = hybridVerdicts.allSatisfy { $0 }
            values.append(("claim.hybrid_balance", ok ? 1 : 0))
            lines.append("Claim 'hybrid sets balance volume and safety': \(ok ? "SUPPORTED" : "NOT SUPPORTED") on this run (\(hybridVerdicts.filter { $0 }.count) of \(hybridVerdicts.count) hybrids score ECI at or above both parents)")
        }
        let seeds = Self.seedAnalysis(rows.map { ($0.label, $0.source, $0.k) }, seedsOfRow)
        lines += seeds.lines
        values += seeds.values
        return WorkloadReport(title: "ECI: negative sets, their ECI and the student's retrieval quality", lines: lines, values: values)
    }

    /// The ECI readings reported side by side: the main one and the three variants fixed a
    /// priori (`ECIScoreVariants`), by their result-metric names.
    static let readings: [(metric: String, label: String)] = [
        ("eci", "ratio-margin (main)"), ("eci.safe_hardness", "safe-hardness"),
        ("eci.fbeta2", "F-beta 2"), ("eci.absolute", "absolute 0.8"),
    ]

    /// The claims over seeds, for every ECI reading: per seed (a seed's sets are the jobs with
    /// that seed), Spearman of the reading with nDCG@10 and with the true false-negative share
    /// over the sets; then the mean and 95% interval over seeds, and a verdict: "predicts
    /// quality" needs mean ρ >= 0.5 with the interval above 0, "penalises false negatives"
    /// mean ρ <= -0.5 with the interval below 0, "hybrids balance" every hybrid's paired
    /// margin over its better parent with the interval above 0. Needs 3+ sets in 2+ seeds.
    ///
    /// Values, for READING in eci, eci.safe_hardness, eci.fbeta2, eci.absolute:
    /// "seeds.READING.spearman.ndcg@10.{mean,ci95,seeds}",
    /// "seeds.READING.spearman.false_negative_share.{mean,ci95,seeds}",
    /// "seeds.READING.hybrid_margin.HYBRID.{mean,ci95,seeds}", "seeds.READING.claim.eci_predicts_quality",
    /// ".claim.false_negatives_penalised", ".claim.hybrid_balance" (1 holds, 0 not), and "seeds".
    static func seedAnalysis(_ sets: [(label: String, source: ECINegativeSource?, k: Int)],
                             _ perSeed: [[(seed: UInt64, result: WorkloadResult)]]) -> (lines: [String], values: [(name: String, value: Double)]) {
        var seeds: [UInt64] = []
        for list in perSeed { for member in list where !seeds.contains(member.seed) { seeds.append(member.seed) } }
        seeds.sort()
        // Only seeds in which every set ran: correlations compare the same sets.
        let complete = seeds.filter { seed in perSeed.allSatisfy { list in list.contains { $0.seed == seed } } }
        guard sets.count >= 3, complete.count >= 2 else {
            return (["Over seeds: not analysed (needs three or more sets, each run with two or more seeds; have \(sets.count) sets, \(complete.count) complete seeds)"], [])
        }
        var lines = ["Over \(complete.count) seeds (\(complete.map(String.init).joined(separator: ", "))), each ECI reading (mean ± 95% CI of per-seed values, Student's t):"]
        var values: [(name: String, value: Double)] = [("seeds", Double(complete.count))]
        func result(_ set: Int, _ seed: UInt64) -> WorkloadResult { perSeed[set].first { $0.seed == seed }!.result }
        for reading in readings {
            var rhoQuality: [Double] = [], rhoFN: [Double] = []
            for seed in complete {
                let eci = sets.indices.map { result($0, seed)[reading.metric] ?? .nan }
                let ndcg = sets.indices.map { result($0, seed)["ndcg@10"] ?? .nan }
                let fns = sets.indices.map { result($0, seed)["false_negative_share"] ?? .nan }
                rhoQuality.append(RetrievalMetrics.spearman(eci, ndcg) ?? 0)
                rhoFN.append(RetrievalMetrics.spearman(fns, eci) ?? 0)
            }
            let quality = SeedInterval(rhoQuality), penalty = SeedInterval(rhoFN)
            let key = "seeds.\(reading.metric)"
            values += quality.namedValues("\(key).spearman.ndcg@10")
            values += penalty.namedValues("\(key).spearman.false_negative_share")
            let predicts = quality.mean >= 0.5 && quality.above(0)
            let penalised = penalty.mean <= -0.5 && penalty.below(0)
            values.append(("\(key).claim.eci_predicts_quality", predicts ? 1 : 0))
            values.append(("\(key).claim.false_negatives_penalised", penalised ? 1 : 0))
            var hybridText: [String] = []
            var hybridsHold: [Bool] = []
            for (i, set) in sets.enumerated() {
                guard let parents = set.source?.parents,
                      let a = sets.firstIndex(where: { $0.source == parents.0 && $0.k == set.k }),
                      let b = sets.firstIndex(where: { $0.source == parents.1 && $0.k == set.k }) else { continue }
                let margin = SeedInterval(complete.map { seed in
                    (result(i, seed)[reading.metric] ?? 0) - max(result(a, seed)[reading.metric] ?? 0, result(b, seed)[reading.metric] ?? 0)
                })
                values += margin.namedValues("\(key).hybrid_margin.\(set.label)")
                hybridsHold.append(margin.above(0))
                hybridText.append("\(set.label) - better parent \(margin.text())")
            }
            if !hybridsHold.isEmpty { values.append(("\(key).claim.hybrid_balance", hybridsHold.allSatisfy { $0 } ? 1 : 0)) }
            lines.append("  \(reading.label) [\(reading.metric)]: ρ(ECI, nDCG@10) \(quality.text()) -> predicts quality: \(predicts ? "HOLDS" : "does not hold");"
                + " ρ(FN share, ECI) \(penalty.text()) -> penalises false negatives: \(penalised ? "HOLDS" : "does not hold")"
                + (hybridsHold.isEmpty ? "" : "; hybrids: " + hybridText.joined(separator: ", ")
                    + " -> balance: \(hybridsHold.allSatisfy { $0 } ? "HOLDS" : "does not hold")"))
        }
        let ndcgFN = SeedInterval(complete.map { seed in
            RetrievalMetrics.spearman(sets.indices.map { result($0, seed)["false_negative_share"] ?? .nan },
                                      sets.indices.map { result($0, seed)["ndcg@10"] ?? .nan }) ?? 0
        })
        values += ndcgFN.namedValues("seeds.spearman.false_negative_share.ndcg@10")
        lines.append("  (for reference: ρ(true FN share, nDCG@10) \(ndcgFN.text()) over seeds)")
        return (lines, values)
    }
}
