import FleetTwinEngine
import FleetTwinTensor
import Foundation

/// Cross-cultural hateful-meme detection (after arXiv 2602.07497), small and real, as batch
/// inference: a vendor's vision-language model (`VLMMemeVendorModel`, pretrained in-process on
/// an English-skewed mixture) answers "hateful?" for synthetic memes of four cultures under the
/// paper's conditions (zero/one-shot, native/English prompt, original/translated caption).
///
/// The job's requests are (language, condition, meme) triples in that order; each step
/// answers the next `batch` of them, split over the devices in contiguous slices (rows never
/// interact, so the answers do not depend on the split). The checkpoint is the cursor and the
/// answers so far (yes-minus-no logit margins): the weights are the vendor's, rebuilt from the
/// spec. Result: per language and condition macro-F1, accuracy and the share of errors that
/// follow the dominant culture's norm.
public final class VLMMemeWorkload: Workload {
    public static let kind = "vlm-meme"
    public static let optionHelp: [(key: String, help: String)] = [
        ("languages", "languages to evaluate, comma-separated from english, arin, belo, coru, or 'all' (default all)"),
        ("conditions", "conditions <shot>.<prompt>.<caption> (shot zero|one, prompt native|english, caption original|translated), comma-separated, or 'all' (default all)"),
        ("items", "memes per language, the same for every condition (default 64)"),
        ("batch", "requests per step (default 32)"),
        ("layers", "vendor model blocks, 1-4 (default 2)"),
        ("width", "vendor model width d (default 32)"),
        ("heads", "attention heads, dividing width (default 4)"),
        ("pretrainSteps", "vendor pretraining steps, done once per process per seed and model options (default 600)"),
        ("pretrainBatch", "vendor pretraining batch (default 32)"),
        ("learningRate", "vendor pretraining Adam learning rate (default 0.003)"),
        ("dominantShare", "share of pretraining memes from the dominant (english) culture, 0-1 (default 0.7)"),
        ("nativeSourced", "share of other cultures' pretraining memes with native prompts and local labels, 0-1 (default 0.5)"),
        ("oneShotShare", "share of pretraining sequences with one labelled example in context, 0-1 (default 0.25)"),
    ]

    public let spec: WorkloadSpec
    let world: VLMMemeWorld
    let vendor: VLMMemeVendorModel
    /// Evaluated languages and conditions, in their canonical order.
    let languages: [Int]
    let conditions: [VLMMemeCondition]
    let items: Int, batch: Int
    /// memes[k][i]: item i of languages[k]; examples[k][i]: its one-shot example.
    let memes: [[VLMMeme]], examples: [[VLMMeme]]
    /// yes-minus-no logit margin of every answered request, in request order.
    var margins: [Float] = []
    public private(set) var stepsCompleted = 0

    /// Requests the job answers: languages x conditions x items (the one the analysis needs
    /// from every job, and what the simulator prices inference by).
    public var inferenceRequests: Int? { requestCount }
    var requestCount: Int { languages.count * conditions.count * items }
    /// The vendor model's weights as loaded (fp32), which every start of the job reads:
    /// they are not in its checkpoint.
    public var inferenceWeightBytes: Int { vendor.parameters.reduce(0) { $0 + $1.scalars.count } * 4 }
    /// Mini-batches of `batch` requests, the last one possibly shorter.
    public var totalSteps: Int { (requestCount + batch - 1) / batch }

    public init(spec: WorkloadSpec) throws {
        self.spec = spec
        let o = VLMMemeOptions(spec.options)
        languages = try o.list("languages", names: VLMMemeWorld.languages).map { VLMMemeWorld.languageIndex($0)! }
        conditions = try o.list("conditions", names: VLMMemeCondition.all.map(\.name)).map { VLMMemeCondition(name: $0)! }
        items = try o.int("items", 64, in: 1...100_000)
        batch = try o.int("batch", 32, in: 1...100_000)
        let width = try o.int("width", 32, in: 4...512)
        let heads = try o.int("heads", 4, in: 1...width)
        guard width % heads == 0 else {
            throw WorkloadError("vlm-meme option 'heads' must divide width \(width), got '\(heads)'")
        }
        let settings = VLMMemeVendorModel.Settings(
            layers: try o.int("layers", 2, in: 1...4), width: width, heads: heads,
            steps: try o.int("pretrainSteps", 600, in: 0...1_000_000), batch: try o.int("pretrainBatch", 32, in: 1...10_000),
            learningRate: try o.double("learningRate", 0.003, in: 1e-7...1),
            dominantShare: try o.double("dominantShare", 0.7, in: 0...1),
            nativeSourced: try o.double("nativeSourced", 0.5, in: 0...1),
            oneShotShare: try o.double("oneShotShare", 0.25, in: 0...1))
        var worldGenerator = spec.generator("world")
        let world = VLMMemeWorld(&worldGenerator)
        self.world = world
        var memes: [[VLMMeme]] = [], examples: [[VLMMeme]] = []
        for l in languages {
            let name = VLMMemeWorld.languages[l]
            memes.append((0..<items).map { i in var g = spec.generator("item.\(name)", index: UInt64(i)); return VLMMemeWorld.meme(culture: l, &g) })
            examples.append((0..<items).map { i in var g = spec.generator("shot.\(name)", index: UInt64(i)); return VLMMemeWorld.meme(culture: l, &g) })
        }
        self.memes = memes
        self.examples = examples
        vendor = VLMMemeVendorModel.memo.model(seed: spec.seed, world: world, settings: settings)
    }

    public convenience init(spec: WorkloadSpec, restoring reader: inout ByteReader) throws {
        try self.init(spec: spec)
        let step = try reader.readInt()
        guard step >= 0, step <= totalSteps else {
            throw ByteDecodingError(offset: reader.offset, reason: "step \(step) outside 0...\(totalSteps)")
        }
        let answered = try reader.readFloats()
        guard answered.count == min(step * batch, requestCount) else {
            throw ByteDecodingError(offset: reader.offset, reason: "\(answered.count) answers after \(step) steps of \(batch)")
        }
        stepsCompleted = step
        margins = answered
    }

    public func encodeState(to writer: inout ByteWriter) {
        writer.write(stepsCompleted)
        writer.write(margins)
    }

    // MARK: Requests

    /// Request r: language index k (into `languages`), condition index c, item i.
    func request(_ r: Int) -> (k: Int, c: Int, i: Int) {
        let perLanguage = conditions.count * items
        return (r / perLanguage, (r % perLanguage) / items, r % items)
    }

    /// The tokens of request r (the one-shot example labelled by its own culture's norms).
    func tokens(_ r: Int) -> [Int] {
        let (k, c, i) = request(r)
        let example = examples[k][i]
        return conditions[c].tokens(query: memes[k][i], example: example,
                                    exampleHateful: VLMMemeWorld.isHateful(example, underNormOf: example.culture), world: world)
    }

    /// Forward FLOPs of one step on average: every request's forward (the vendor model's
    /// `forwardFlops` at its length), summed and divided by the steps.
    public var estimatedFlopsPerStep: Int {
        guard totalSteps > 0 else { return 0 }
        var total = 0
        for c in conditions { total += languages.count * items * vendor.model.forwardFlops(tokens: c.length) }
        return total / totalSteps
    }

    /// Answers the next mini-batch, its requests split over `devices` (any count: clamped to
    /// 1...requests in the step) in contiguous slices; returns the forward FLOPs and the
    /// largest slice's tape bytes.
    @discardableResult
    public func step(devices: Int) -> StepProfile {
        precondition(!isFinished, "step after the job finished")
        let start = stepsCompleted * batch, end = min(start + batch, requestCount)
        let devices = max(1, min(devices, end - start))
        var flops = 0, bytes = 0
        // Device d answers a contiguous slice; the slices are appended in device order.
        for d in 0..<devices {
            let lo = start + (end - start) * d / devices, hi = start + (end - start) * (d + 1) / devices
            let out = vendor.margins((lo..<hi).map(tokens))
            margins += out.margins
            flops += out.flops
            bytes = max(bytes, out.bytes)
        }
        stepsCompleted += 1
        return StepProfile(flops: flops, activationBytes: bytes)
    }

    // MARK: Results

    /// Scores per (language, condition), languages outer.
    func scores() -> [[VLMMemeScores]] {
        var table = Array(repeating: Array(repeating: VLMMemeScores(), count: conditions.count), count: languages.count)
        for r in margins.indices {
            let (k, c, i) = request(r)
            let meme = memes[k][i]
            table[k][c].add(predicted: margins[r] > 0, local: VLMMemeWorld.isHateful(meme, underNormOf: meme.culture),
                            dominant: VLMMemeWorld.isHateful(meme, underNormOf: VLMMemeWorld.dominant))
        }
        return table
    }

    /// Metrics, in this fixed order: `requests`, `pretrain.loss`; per language (canonical
    /// order) `hateful_share.<lang>` (local labels), `norm_disagreement.<lang>` (share of items
    /// whose local and dominant labels differ), `translation_flips.<lang>` (share of items whose
    /// local label changes when the caption is replaced by its translation: the meaning the
    /// translator loses); then per condition (canonical order) `macro_f1.<lang>.<condition>`,
    /// `accuracy.…`, `dominant_error_share.…`, `errors.…`, `dominant_errors.…`.
    public var result: WorkloadResult? {
        guard isFinished else { return nil }
        var m: [(name: String, value: Double)] = [("requests", Double(requestCount)), ("pretrain.loss", Double(vendor.finalLoss))]
        let table = scores()
        for (k, l) in languages.enumerated() {
            let name = VLMMemeWorld.languages[l]
            var hateful = 0, disagree = 0, flips = 0
            for meme in memes[k] {
                let local = VLMMemeWorld.isHateful(meme, underNormOf: l)
                if local { hateful += 1 }
                if local != VLMMemeWorld.isHateful(meme, underNormOf: VLMMemeWorld.dominant) { disagree += 1 }
                if local != VLMMemeWorld.isHateful(world.translated(meme), underNormOf: l) { flips += 1 }
            }
            let n = Double(items)
            m += [("hateful_share.\(name)", Double(hateful) / n), ("norm_disagreement.\(name)", Double(disagree) / n),
                  ("translation_flips.\(name)", Double(flips) / n)]
            for (c, condition) in conditions.enumerated() {
                let s = table[k][c], cell = "\(name).\(condition.name)"
                m += [("macro_f1.\(cell)", s.macroF1), ("accuracy.\(cell)", s.accuracy),
                      ("dominant_error_share.\(cell)", s.dominantErrorShare),
                      ("errors.\(cell)", Double(s.errors)), ("dominant_errors.\(cell)", Double(s.dominantErrors))]
            }
        }
        return WorkloadResult(metrics: m, hash: stateHash())
    }

    /// Per language x condition means over seeds and a verdict with a 95% interval for each of
    /// the paper's four claims (see `VLMMemeAnalysis` and docs/workload-vlm-meme.md).
    public static func analyse(_ jobs: [FinishedWorkload]) -> WorkloadReport { VLMMemeAnalysis.report(jobs) }
}

/// Option parsing for `vlm-meme`: each message names the option, the bad value and what was expected.
struct VLMMemeOptions {
    let options: [String: String]
    init(_ options: [String: String]) { self.options = options }

    func fail(_ key: String, _ expected: String, _ text: String) -> WorkloadError {
        WorkloadError("vlm-meme option '\(key)' must be \(expected), got '\(text)'")
    }

    func int(_ key: String, _ fallback: Int, in range: ClosedRange<Int>) throws -> Int {
        guard let text = options[key] else { return fallback }
        guard let v = Int(text.trimmingCharacters(in: .whitespaces)), range.contains(v) else {
            throw fail(key, "an integer in \(range.lowerBound)...\(range.upperBound)", text)
        }
        return v
    }

    func double(_ key: String, _ fallback: Double, in range: ClosedRange<Double>) throws -> Double {
        guard let text = options[key] else { return fallback }
        guard let v = Double(text.trimmingCharacters(in: .whitespaces)), v.isFinite, range.contains(v) else {
            throw fail(key, "a number in \(range.lowerBound)...\(range.upperBound)", text)
        }
        return v
    }

    /// A comma-separated subset of `names` (or "all", the default), returned in `names`' order.
    func list(_ key: String, names: [String]) throws -> [String] {
        guard let text = options[key], text.trimmingCharacters(in: .whitespaces) != "all" else { return names }
        let parts = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard !parts.isEmpty else { throw fail(key, "'all' or a comma-separated list of \(names.joined(separator: ", "))", text) }
        for part in parts where !names.contains(part) {
            throw WorkloadError("vlm-meme option '\(key)' has unknown entry '\(part)' in '\(text)'; expected 'all' or some of: \(names.joined(separator: ", "))")
        }
        return names.filter { parts.contains($0) }
    }
}
