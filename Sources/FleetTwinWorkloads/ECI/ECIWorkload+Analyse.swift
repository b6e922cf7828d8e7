import Foundation

extension ECIWorkload {
    /// A table per negative set, the rank correlation of ECI with the student's nDCG@10, and a
    /// computed verdict for each of the paper's three claims on this run.
    ///
    /// Values: "spearman.eci.ndcg@10" (also hardness, safety, false_negative_share against
    /// nDCG@10, and "spearman.false_negative_share.eci" / ".safety"), per set "SET.eci",
    /// "SET.capacity", "SET.hardness", "SET.safety", "SET.false_negative_share", "SET.ndcg@10",
    /// "SET.mrr@10", and "claim.eci_predicts_quality", "claim.false_negatives_penalised",
    /// "claim.hybrid_balance" (1 supported, 0 not; absent when the jobs cannot test it).
    public static func analyse(_ jobs: [FinishedWorkload]) -> WorkloadReport {
        struct Row { var label: String; var source: ECINegativeSource?; var k: Int; var falseNegativeRate: Double; var result: WorkloadResult }
        var rows: [Row] = []
        for job in jobs where job.spec.kind == kind {
            let source = ECINegativeSource(rawValue: job.spec.options["negatives"] ?? ECINegativeSource.bm25.rawValue)
            var label = source?.rawValue ?? (job.spec.options["negatives"] ?? "?")
            if source?.usesGenerator == true, let rate = job.spec.options["falseNegativeRate"] { label += "(fnr=\(rate))" }
            if rows.contains(where: { $0.label == label }) { label += "[\(job.name)]" }
            let defaults = Configuration()
            rows.append(Row(label: label, source: source, k: Int(job.spec.options["k"] ?? "") ?? defaults.k,
                            falseNegativeRate: Double(job.spec.options["falseNegativeRate"] ?? "") ?? defaults.falseNegativeRate,
                            result: job.result))
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
        return WorkloadReport(title: "ECI: negative sets, their ECI and the student's retrieval quality", lines: lines, values: values)
    }
}
