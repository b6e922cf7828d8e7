import Foundation

/// The cross-job view of `vlm-meme` jobs: per language and condition means over seeds, and a
/// computed verdict with a 95% confidence interval for each of the paper's four claims. The
/// seeds (the jobs' seeds) are the unit of replication: each is a different world, vendor
/// model and evaluation set. Several jobs of one seed (one per language x condition, say) are
/// pooled; where two cover the same cell, the first by name counts.
enum VLMMemeAnalysis {
    /// A claim's per-seed differences summarised: mean, a two-sided 95% Student-t interval.
    struct Estimate: Equatable {
        var mean: Double, low: Double, high: Double, seeds: Int
    }

    /// The 0.975 quantile of Student's t with `df` degrees of freedom (1.96 beyond 30).
    static func tQuantile(_ df: Int) -> Double {
        let table = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
                     2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
                     2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042]
        return df >= 1 && df <= table.count ? table[df - 1] : 1.96
    }

    /// Mean and 95% interval of `xs` (nil below two values: no spread to estimate).
    static func estimate(_ xs: [Double]) -> Estimate? {
        guard xs.count >= 2 else { return nil }
        let n = Double(xs.count)
        var total = 0.0
        for x in xs { total += x }
        let mean = total / n
        var squares = 0.0
        for x in xs { squares += (x - mean) * (x - mean) }
        let half = tQuantile(xs.count - 1) * (squares / (n - 1)).squareRoot() / n.squareRoot()
        return Estimate(mean: mean, low: mean - half, high: mean + half, seeds: xs.count)
    }

    /// 1: the claim holds (the interval lies above zero); -1: the opposite holds (below zero);
    /// 0: not shown (the interval includes zero).
    static func verdict(_ e: Estimate) -> Int { e.low > 0 ? 1 : e.high < 0 ? -1 : 0 }

    static func f(_ x: Double) -> String { String(format: "%+.3f", x) }

    static func describe(_ e: Estimate) -> String {
        let words = ["the opposite holds", "not shown (the interval includes zero)", "holds"][verdict(e) + 1]
        return "\(words): mean \(f(e.mean)), 95% CI [\(f(e.low)), \(f(e.high))] over \(e.seeds) seeds"
            + (e.seeds < 5 ? " (fewer than five seeds: provisional)" : "")
    }

    static func report(_ jobs: [FinishedWorkload]) -> WorkloadReport {
        let sorted = jobs.filter { $0.spec.kind == VLMMemeWorkload.kind }.sorted { $0.name < $1.name }
        var seeds: [UInt64] = []
        for job in sorted where !seeds.contains(job.spec.seed) { seeds.append(job.spec.seed) }
        seeds.sort()
        /// The first job of `seed` (by name) that reports `metric`.
        func value(_ seed: UInt64, _ metric: String) -> Double? {
            for job in sorted where job.spec.seed == seed { if let v = job.result[metric] { return v } }
            return nil
        }
        let languages = VLMMemeWorld.languages, others = Array(languages.dropFirst())
        let conditions = VLMMemeCondition.all
        var lines: [String] = [], values: [(name: String, value: Double)] = []

        // Per language x condition: means over the seeds that have the cell.
        lines.append("cell (language.shot.prompt.caption)       seeds  macro-F1 (95% CI)        accuracy  dominant-norm errors")
        for language in languages {
            for metric in ["norm_disagreement", "translation_flips"] {
                let xs = seeds.compactMap { value($0, "\(metric).\(language)") }
                if !xs.isEmpty { values.append(("\(metric).\(language)", xs.reduce(0, +) / Double(xs.count))) }
            }
            for c in conditions {
                let cell = "\(language).\(c.name)"
                let f1 = seeds.compactMap { value($0, "macro_f1.\(cell)") }
                guard !f1.isEmpty else { continue }
                let n = Double(f1.count)
                let accuracy = seeds.compactMap { value($0, "accuracy.\(cell)") }.reduce(0, +) / n
                let dominant = seeds.compactMap { value($0, "dominant_error_share.\(cell)") }.reduce(0, +) / n
                let e = estimate(f1)
                let mean = f1.reduce(0, +) / n
                values.append(("macro_f1.\(cell)", mean))
                if let e { values.append(("macro_f1_ci95.\(cell)", e.high - mean)) }
                values.append(("accuracy.\(cell)", accuracy))
                values.append(("dominant_error_share.\(cell)", dominant))
                let interval = e.map { String(format: "[%.3f, %.3f]", $0.low, $0.high) } ?? "-"
                lines.append(cell.padding(toLength: 42, withPad: " ", startingAt: 0) + String(format: " %5d  %.3f %@  %.3f     %.3f",
                             f1.count, mean, interval.padding(toLength: 16, withPad: " ", startingAt: 0), accuracy, dominant))
            }
        }

        // Paired differences of macro-F1 over `scope` (some non-dominant languages), one mean
        // per seed.
        func pairedClaim(_ scope: [String], _ better: (VLMMemeCondition) -> Bool, _ partner: (VLMMemeCondition) -> VLMMemeCondition) -> [Double] {
            seeds.compactMap { seed in
                var diffs: [Double] = []
                for language in scope {
                    for c in conditions where better(c) {
                        if let a = value(seed, "macro_f1.\(language).\(c.name)"),
                           let b = value(seed, "macro_f1.\(language).\(partner(c).name)") { diffs.append(a - b) }
                    }
                }
                return diffs.isEmpty ? nil : diffs.reduce(0, +) / Double(diffs.count)
            }
        }
        func flipped(_ c: VLMMemeCondition, _ change: (inout VLMMemeCondition) -> Void) -> VLMMemeCondition {
            var out = c; change(&out); return out
        }
        func claims(_ scope: [String]) -> [(key: String, text: String, perSeed: [Double])] { [
            ("translate_hurts", "translate-then-detect hurts (macro-F1 original - translated)",
             pairedClaim(scope, { !$0.translated }, { flipped($0) { $0.translated = true } })),
            ("native_prompt_helps", "native prompting helps (macro-F1 native - English prompt)",
             pairedClaim(scope, { $0.nativePrompt }, { flipped($0) { $0.nativePrompt = false } })),
            ("one_shot_helps", "one-shot helps (macro-F1 one-shot - zero-shot)",
             pairedClaim(scope, { $0.oneShot }, { flipped($0) { $0.oneShot = false } })),
            ("errors_lean_dominant", "errors lean toward the dominant norm (dominant-norm share of errors - share expected if errors fell evenly)",
             seeds.compactMap { seed in
                 var errors = 0.0, dominant = 0.0, expected = 0.0
                 for language in scope {
                     guard let disagreement = value(seed, "norm_disagreement.\(language)") else { continue }
                     for c in conditions {
                         guard let e = value(seed, "errors.\(language).\(c.name)"),
                               let d = value(seed, "dominant_errors.\(language).\(c.name)") else { continue }
                         errors += e; dominant += d; expected += e * disagreement
                     }
                 }
                 return errors > 0 ? (dominant - expected) / errors : nil
             }),
        ] }
        // The paper's claims pooled over the non-dominant languages (`claim.<claim>`), then per
        // language (`claim.<claim>.<language>`): a pooled verdict can hide a language where the
        // claim fails, as the paper's per-dataset tables show.
        let scopes: [(suffix: String, label: String, languages: [String])] =
            [("", "", others)] + others.map { (".\($0)", " in \($0)", [$0]) }
        for scope in scopes {
            for claim in claims(scope.languages) {
                let key = "claim.\(claim.key)\(scope.suffix)"
                guard let e = estimate(claim.perSeed) else {
                    lines.append("Claim '\(claim.text)'\(scope.label): not testable (needs two or more seeds with both sides; \(claim.perSeed.count) here)")
                    continue
                }
                values += [(key, Double(verdict(e))), ("\(key).mean", e.mean),
                           ("\(key).low", e.low), ("\(key).high", e.high),
                           ("\(key).seeds", Double(e.seeds))]
                lines.append("Claim '\(claim.text)'\(scope.label): \(describe(e))")
            }
        }
        values += [("seeds", Double(seeds.count)), ("jobs", Double(sorted.count))]
        return WorkloadReport(title: "Cross-cultural hateful-meme detection: conditions per language, claims over seeds",
                              lines: lines, values: values)
    }
}
