import FleetTwinEngine

/// Token layout of the RAG probe task: a BOS token, then subject-token, relation, object and
/// filler tokens in consecutive blocks. A subject (entity) is a fixed sequence of subject
/// tokens (`RAGFacts.names`), so `subjectTokens` is the size of the subject-token block, not
/// the number of subjects.
struct RAGVocabulary: Equatable {
    var subjectTokens: Int, relations: Int, objects: Int, fillers: Int
    static let bos = 0
    func subject(_ i: Int) -> Int { 1 + i }
    func relation(_ i: Int) -> Int { 1 + subjectTokens + i }
    func object(_ i: Int) -> Int { 1 + subjectTokens + relations + i }
    func filler(_ i: Int) -> Int { 1 + subjectTokens + relations + objects + i }
    var size: Int { 1 + subjectTokens + relations + objects + fillers }
    /// Whether `token` is a subject token.
    func isSubject(_ token: Int) -> Bool { token >= 1 && token <= subjectTokens }
}

/// One prompt: tokens, the answer token the model must predict after the last token, and the
/// positions the probes address.
public struct RAGPrompt: Equatable, Sendable {
    public var tokens: [Int]
    /// The answer token (predicted from the last position).
    public var answer: Int
    /// Positions of the query's subject tokens, in order (`subjectLength` of them).
    public var subjectPositions: [Int]
    /// Position of the answer token inside the context (nil without context).
    public var contextAnswerPosition: Int?
    /// Positions the corrupted run adds noise to: the subject (no context), or every context
    /// token and the subject (with context).
    public var corruptedPositions: [Int]
    public var lastPosition: Int { tokens.count - 1 }
    /// The query subject's last token: where the paper finds the subject's effect (mid-layer
    /// MLPs at the last subject token; Meng et al. 2022, arXiv 2202.05262, and 2406.12824).
    public var subjectLastPosition: Int { subjectPositions[subjectPositions.count - 1] }
    /// The query subject's first token.
    public var subjectFirstPosition: Int { subjectPositions[0] }
}

/// The memorised facts (subject, relation) -> object and the prompt builders.
struct RAGFacts {
    var vocabulary: RAGVocabulary
    /// names[s]: subject s's tokens, as indices into the subject-token block (`subjectLength`
    /// each; distinct subjects have distinct sequences).
    var names: [[Int]]
    /// objectOf[s * relations + r]: the memorised object index of fact (s, r).
    var objectOf: [Int]
    var segments: Int
    var segmentFillers: Int

    /// Subjects (entities); facts = subjects x relations.
    var subjects: Int { names.count }
    /// Tokens per subject mention.
    var subjectLength: Int { names[0].count }
    var segmentLength: Int { subjectLength + 2 + segmentFillers }
    var closedBookLength: Int { 1 + subjectLength + 1 }
    var contextLength: Int { 1 + segments * segmentLength + subjectLength + 1 }

    static func uniform(_ n: Int, _ g: inout SeededGenerator) -> Int { Int(g.next() % UInt64(n)) }

    /// Subject names: with one token per subject, subject s is token s (the vocabulary block
    /// has one token per subject; nothing is drawn). With `length` > 1 tokens, `subjects`
    /// distinct sequences drawn uniformly without replacement from the vocabulary block's
    /// `tokens`^`length` sequences (from `g`; partial Fisher-Yates over the sequence indices),
    /// so subjects share tokens and, as for the paper's multi-token names, no single token
    /// need identify a subject. Throws when there are fewer sequences than subjects.
    static func names(subjects: Int, length: Int, tokens: Int, _ g: inout SeededGenerator) throws -> [[Int]] {
        if length == 1 {
            guard tokens == subjects else {
                throw WorkloadError("rag option 'subjectVocabulary' must equal subjects (\(subjects)) with subjectTokens 1, got '\(tokens)'")
            }
            return (0..<subjects).map { [$0] }
        }
        var total = 1
        for _ in 0..<length {
            total = total.multipliedReportingOverflow(by: tokens).overflow ? Int.max : total * tokens
        }
        guard total >= subjects else {
            throw WorkloadError("rag option 'subjectVocabulary' must give at least subjects (\(subjects)) distinct names of subjectTokens (\(length)) tokens, got '\(tokens)' (\(total) names)")
        }
        // Partial Fisher-Yates over 0..<total without materialising it: the swapped-out
        // entries are kept in a dictionary, read by key only.
        var swapped: [Int: Int] = [:]
        var names: [[Int]] = []
        for i in 0..<subjects {
            let j = i + Int(g.next() % UInt64(total - i))
            let pick = swapped[j] ?? j
            swapped[j] = swapped[i] ?? i
            var code = pick, name: [Int] = []
            for _ in 0..<length { name.append(code % tokens); code /= tokens }
            names.append(name.reversed())
        }
        return names
    }

    init(vocabulary: RAGVocabulary, names: [[Int]], segments: Int, segmentFillers: Int, generator g: inout SeededGenerator) {
        self.vocabulary = vocabulary
        self.names = names
        self.segments = segments
        self.segmentFillers = segmentFillers
        objectOf = (0..<(names.count * vocabulary.relations)).map { _ in Self.uniform(vocabulary.objects, &g) }
    }

    func memorised(_ s: Int, _ r: Int) -> Int { objectOf[s * vocabulary.relations + r] }

    /// Subject s's tokens.
    func mention(_ s: Int) -> [Int] { names[s].map(vocabulary.subject) }

    /// "BOS s_1..s_k r" -> o.
    func closedBook(subject s: Int, relation r: Int) -> RAGPrompt {
        let subject = Array(1...subjectLength)
        return RAGPrompt(tokens: [RAGVocabulary.bos] + mention(s) + [vocabulary.relation(r)],
                         answer: vocabulary.object(memorised(s, r)), subjectPositions: subject,
                         contextAnswerPosition: nil, corruptedPositions: subject)
    }

    /// "BOS [segment] x segments  s_1..s_k r" -> the context's object for (s, r): the paper's setting
    /// of retrieved segments about the question's subject, exactly one holding the answer.
    /// Every segment mentions the subject s and has the same length. The answer segment (at a
    /// random slot) is "s r o_ctx f..." (s: the subject's k tokens). Each other segment is about the subject too: when
    /// there is another relation, with probability 1/2 a memorised fact of s with
    /// another relation, "s r' o(s, r') f...", r' != r drawn uniformly; otherwise a mention of
    /// s without any relation or object, "s f f f...". So the subject does not pick the
    /// answer segment (every segment has it); the relation and the object slot do. Fillers are
    /// random filler tokens.
    func withContext(subject s: Int, relation r: Int, contextObject: Int, _ g: inout SeededGenerator) -> RAGPrompt {
        let v = vocabulary
        let slot = Self.uniform(segments, &g)
        var tokens = [RAGVocabulary.bos]
        var answerPosition = 0
        for k in 0..<segments {
            if k == slot {
                tokens += mention(s) + [v.relation(r)]
                answerPosition = tokens.count
                tokens.append(v.object(contextObject))
            } else {
                let otherRelation = v.relations > 1 && g.nextUnitDouble() < 0.5
                if otherRelation {
                    let rel = (r + 1 + Self.uniform(v.relations - 1, &g)) % v.relations
                    tokens += mention(s) + [v.relation(rel), v.object(memorised(s, rel))]
                } else {
                    tokens += mention(s) + [v.filler(Self.uniform(v.fillers, &g)), v.filler(Self.uniform(v.fillers, &g))]
                }
            }
            for _ in 0..<segmentFillers { tokens.append(v.filler(Self.uniform(v.fillers, &g))) }
        }
        let contextEnd = tokens.count
        tokens += mention(s) + [v.relation(r)]
        let subject = Array(contextEnd..<(contextEnd + subjectLength))
        return RAGPrompt(tokens: tokens, answer: v.object(contextObject), subjectPositions: subject,
                         contextAnswerPosition: answerPosition,
                         corruptedPositions: Array(1..<contextEnd) + subject)
    }

    /// Positions of the subject's mentions inside a context prompt's segments: every token of
    /// every segment's mention (the first `subjectLength` tokens of each segment), in order.
    func contextSubjectPositions(_ prompt: RAGPrompt) -> [Int] {
        guard prompt.contextAnswerPosition != nil else { return [] }
        return (0..<segments).flatMap { k in (0..<subjectLength).map { 1 + k * segmentLength + $0 } }
    }

    /// One training example: closed-book with probability 1 - contextFraction, else a context
    /// whose object is a different (counterfactual) one with probability `counterfactual`.
    func trainingExample(contextFraction: Double, counterfactual: Double, _ g: inout SeededGenerator) -> RAGPrompt {
        let s = Self.uniform(subjects, &g)
        let r = Self.uniform(vocabulary.relations, &g)
        guard g.nextUnitDouble() < contextFraction else { return closedBook(subject: s, relation: r) }
        var object = memorised(s, r)
        if g.nextUnitDouble() < counterfactual {
            object = (object + 1 + Self.uniform(vocabulary.objects - 1, &g)) % vocabulary.objects
        }
        return withContext(subject: s, relation: r, contextObject: object, &g)
    }
}
