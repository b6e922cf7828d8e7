import FleetTwinEngine

/// Token layout of the RAG probe task: a BOS token, then subject, relation, object and filler
/// tokens in consecutive blocks.
struct RAGVocabulary: Equatable {
    var subjects: Int, relations: Int, objects: Int, fillers: Int
    static let bos = 0
    func subject(_ i: Int) -> Int { 1 + i }
    func relation(_ i: Int) -> Int { 1 + subjects + i }
    func object(_ i: Int) -> Int { 1 + subjects + relations + i }
    func filler(_ i: Int) -> Int { 1 + subjects + relations + objects + i }
    var size: Int { 1 + subjects + relations + objects + fillers }
}

/// One prompt: tokens, the answer token the model must predict after the last token, and the
/// positions the probes address.
public struct RAGPrompt: Equatable, Sendable {
    public var tokens: [Int]
    /// The answer token (predicted from the last position).
    public var answer: Int
    /// Positions of the query's subject tokens (one token here).
    public var subjectPositions: [Int]
    /// Position of the answer token inside the context (nil without context).
    public var contextAnswerPosition: Int?
    /// Positions the corrupted run adds noise to: the subject (no context), or every context
    /// token and the subject (with context).
    public var corruptedPositions: [Int]
    public var lastPosition: Int { tokens.count - 1 }
}

/// The memorised facts (subject, relation) -> object and the prompt builders.
struct RAGFacts {
    var vocabulary: RAGVocabulary
    /// objectOf[s * relations + r]: the memorised object index of fact (s, r).
    var objectOf: [Int]
    var segments: Int
    var segmentFillers: Int

    var segmentLength: Int { 3 + segmentFillers }
    var contextLength: Int { 1 + segments * segmentLength + 2 }

    static func uniform(_ n: Int, _ g: inout SeededGenerator) -> Int { Int(g.next() % UInt64(n)) }

    init(vocabulary: RAGVocabulary, segments: Int, segmentFillers: Int, generator g: inout SeededGenerator) {
        self.vocabulary = vocabulary
        self.segments = segments
        self.segmentFillers = segmentFillers
        objectOf = (0..<(vocabulary.subjects * vocabulary.relations)).map { _ in Self.uniform(vocabulary.objects, &g) }
    }

    func memorised(_ s: Int, _ r: Int) -> Int { objectOf[s * vocabulary.relations + r] }

    /// "BOS s r" -> o.
    func closedBook(subject s: Int, relation r: Int) -> RAGPrompt {
        RAGPrompt(tokens: [RAGVocabulary.bos, vocabulary.subject(s), vocabulary.relation(r)],
                  answer: vocabulary.object(memorised(s, r)), subjectPositions: [1],
                  contextAnswerPosition: nil, corruptedPositions: [1])
    }

    /// "BOS [segment] x segments  s r" -> the context's object for (s, r): the paper's setting
    /// of retrieved segments about the question's subject, exactly one holding the answer.
    /// Every segment mentions the subject s and has the same length. The answer segment (at a
    /// random slot) is "s r o_ctx f...". Each other segment is about the subject too: when
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
                tokens += [v.subject(s), v.relation(r)]
                answerPosition = tokens.count
                tokens.append(v.object(contextObject))
            } else {
                let otherRelation = v.relations > 1 && g.nextUnitDouble() < 0.5
                if otherRelation {
                    let rel = (r + 1 + Self.uniform(v.relations - 1, &g)) % v.relations
                    tokens += [v.subject(s), v.relation(rel), v.object(memorised(s, rel))]
                } else {
                    tokens += [v.subject(s), v.filler(Self.uniform(v.fillers, &g)), v.filler(Self.uniform(v.fillers, &g))]
                }
            }
            for _ in 0..<segmentFillers { tokens.append(v.filler(Self.uniform(v.fillers, &g))) }
        }
        let contextEnd = tokens.count
        tokens += [v.subject(s), v.relation(r)]
        return RAGPrompt(tokens: tokens, answer: v.object(contextObject), subjectPositions: [contextEnd],
                         contextAnswerPosition: answerPosition,
                         corruptedPositions: Array(1..<contextEnd) + [contextEnd])
    }

    /// Positions of the subject's mentions inside a context prompt's segments (the first
    /// token of every segment).
    func contextSubjectPositions(_ prompt: RAGPrompt) -> [Int] {
        guard prompt.contextAnswerPosition != nil else { return [] }
        return (0..<segments).map { 1 + $0 * segmentLength }
    }

    /// One training example: closed-book with probability 1 - contextFraction, else a context
    /// whose object is a different (counterfactual) one with probability `counterfactual`.
    func trainingExample(contextFraction: Double, counterfactual: Double, _ g: inout SeededGenerator) -> RAGPrompt {
        let s = Self.uniform(vocabulary.subjects, &g)
        let r = Self.uniform(vocabulary.relations, &g)
        guard g.nextUnitDouble() < contextFraction else { return closedBook(subject: s, relation: r) }
        var object = memorised(s, r)
        if g.nextUnitDouble() < counterfactual {
            object = (object + 1 + Self.uniform(vocabulary.objects - 1, &g)) % vocabulary.objects
        }
        return withContext(subject: s, relation: r, contextObject: object, &g)
    }
}
