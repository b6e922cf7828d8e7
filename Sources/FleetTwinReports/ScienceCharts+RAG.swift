/// The RAG probes: causal-tracing heatmaps (site by layer, without and with the answer in
/// context) per job, and the attention-knockout bars.
import Foundation

extension ScienceCharts {
    /// Reads each rag job's metrics `aie.SITE.VARIANT.layerL` (the mean indirect effect of
    /// restoring SITE's clean state after block L), `aie.subject_embedding.VARIANT` (layer 0)
    /// and `knockout.subject.no_context`, `knockout.subject.with_context`,
    /// `knockout.answer.with_context`; and the analysis' `mean.knockout.*` for a mean group.
    static let rag = ScienceDrawing(kind: "rag", title: "RAG probes: causal tracing and attention knockout", figures: ragFigures)

    /// Sites in display order ("subject" is the subject's last token, the paper's site).
    static let ragSites = [("subject", "subject's last token · residual"), ("subject_mlp", "subject's last token · MLP"),
                           ("subject_attn", "subject's last token · attention"),
                           ("subject_first", "subject's first token · residual"),
                           ("subject_first_mlp", "subject's first token · MLP"),
                           ("subject_first_attn", "subject's first token · attention"),
                           ("last", "last token · residual"), ("last_mlp", "last token · MLP"),
                           ("last_attn", "last token · attention")]
    static let ragVariants = [("no_context", "without context"), ("with_context", "with context")]
    static let ragKnockouts = [("knockout.subject.no_context", "last → subject, without context"),
                               ("knockout.subject.with_context", "last → subject, with context"),
                               ("knockout.answer.with_context", "last → answer, with context")]

    static func ragFigures(_ jobs: [WorkloadResults.Job], _ analysis: WorkloadResults.Analysis?) -> [ScienceFigure] {
        var figures = jobs.compactMap(causalTracing)
        var groups = jobs.map(\.job), rows = jobs.map { job in ragKnockouts.map { job.metrics[$0.0] } }
        if jobs.count > 1, let means = analysis?.values {
            groups.append("mean of \(jobs.count) jobs")
            rows.append(ragKnockouts.map { means["mean.\($0.0)"] })
        }
        let kept = groups.indices.filter { rows[$0].contains { $0 != nil } }
        if let chart = groupedBars(label: "Attention knockout: share of the answer's probability lost, per job",
                                   groupTitle: "job", valueTitle: "answer probability lost (%)", groups: kept.map { groups[$0] },
                                   series: ragKnockouts.map(\.1), values: kept.map { rows[$0] }, decimals: 1, percent: true) {
            figures.append(ScienceFigure(title: "Attention knockout", caption: """
                Share of the answer's probability lost when the last token may not attend to the subject's tokens (or, \
                with context, to the answer's token in the context), in every head of every layer; mean over the probes. \
                The paper finds under 5% for the subject once the answer is in context, and about 20-25% for the answer.
                """, charts: [chart]))
        }
        return figures
    }

    /// One job's pair of heatmaps; nil when it stored no per-layer effects.
    static func causalTracing(_ job: WorkloadResults.Job) -> ScienceFigure? {
        var effects: [String: [String: [Int: Double]]] = [:]  // variant, site, layer
        for (name, value) in job.metrics {
            let parts = name.split(separator: ".").map(String.init)
            if parts.count == 4, parts[0] == "aie", let layer = index(parts[3], after: "layer") {
                effects[parts[2], default: [:]][parts[1], default: [:]][layer] = value
            } else if parts.count == 3, parts[0] == "aie", parts[1] == "subject_embedding" {
                effects[parts[2], default: [:]]["subject", default: [:]][0] = value
            }
        }
        let variants = ordered(effects.keys, known: ragVariants.map(\.0))
        guard !variants.isEmpty else { return nil }
        let sites = ordered(effects.values.flatMap(\.keys), known: ragSites.map(\.0))
        let layers = Set(effects.values.flatMap { $0.values.flatMap(\.keys) }).sorted()
        let scale = effects.values.flatMap { $0.values.flatMap(\.values) }.map(abs).max() ?? 0
        let charts = variants.map { variant in
            let title = ragVariants.first { $0.0 == variant }?.1 ?? variant
            return Heatmap(label: "Causal tracing of \(job.job) \(title): indirect effect by site and layer", title: title,
                           rows: sites.map { site in ragSites.first { $0.0 == site }?.1 ?? site },
                           columns: layers.map { $0 == 0 ? "0 (emb.)" : String($0) },
                           cells: sites.map { site in layers.map { effects[variant]?[site]?[$0] } }, scale: scale,
                           columnTitle: "layer (restored after this block)", valueTitle: "indirect effect on p(answer)").svg()
        }
        var peaks = ""
        if let without = job.metrics["aie.subject.no_context"], let with = job.metrics["aie.subject.with_context"] {
            peaks = " The subject's peak effect: \(fixed(without, 3)) without context, \(fixed(with, 3)) with it."
        }
        return ScienceFigure(title: "Causal tracing: \(job.job)", caption: """
            Average indirect effect of restoring one site's clean hidden state (or MLP or attention output) into a run \
            whose subject tokens were corrupted with noise (the subject's sites: its last token, as in the paper, and \
            its first; layer 0: every subject token's embedding): p(answer) restored minus p(answer) corrupted, per layer; both panels share \
            one colour scale.\(peaks)
            """, charts: charts)
    }
}
