import FleetTwinEngine

/// A word of a caption, by meaning: every language has one surface token per word.
///
/// `slur`, `idiom` and `culture` are the words the paper says translation loses: a slur
/// names a group and derogates it in one token; an idiom derogates although its literal
/// pieces are harmless; a culture-bound word derogates only under its own culture's norms.
enum VLMMemeWord: Equatable, Sendable {
    case neutral(Int), group(Int), attack(Int), slur(Int), idiom(Int), culture(Int)
}

/// A visual token of a meme's image grid, by meaning.
///
/// `local(c)` is culture c's own hate symbol (harmless elsewhere, the dominant culture
/// included); `dominantOnly(i)` is hateful under the dominant culture's norms only (a gesture
/// that is harmless in the other cultures).
enum VLMMemeSymbol: Equatable, Sendable {
    case neutral(Int), group(Int), hate(Int), local(Int), dominantOnly(Int)
}

/// One synthetic meme: an image of `VLMMemeWorld.imageSlots` symbols and a caption of
/// `VLMMemeWorld.captionSlots` words in `captionLanguage`, made in (and for) `culture`.
struct VLMMeme: Equatable, Sendable {
    var culture: Int
    var captionLanguage: Int
    var image: [VLMMemeSymbol]
    var caption: [VLMMemeWord]
}

/// The synthetic world: four languages (index 0, "english", is the dominant one), each with its
/// own culture and vocabulary, the cultures' hate norms, the meme generator and the dictionary
/// translator to the dominant language. Everything that varies by seed (idiom glosses, the
/// neutral glosses of culture-bound words) comes from `spec.generator("world")`.
///
/// The norm rule (every culture): a meme is hateful when it targets a group (a group word, a
/// slur or a group symbol) and derogates (an attack word, a slur, an idiom, a universal hate
/// symbol, and, under culture c's norms only, c's culture-bound words and c's local hate
/// symbol; under the dominant norms only, the dominant-only symbols).
struct VLMMemeWorld: Equatable, Sendable {
    static let languages = ["english", "arin", "belo", "coru"]
    static let dominant = 0
    static let groups = 3, neutralWords = 10, attacks = 3, idioms = 2, cultureWords = 2
    static let neutralSymbols = 8, hateSymbols = 2, dominantOnlySymbols = 2
    static let imageSlots = 4, captionSlots = 4

    // Generator probabilities, fixed a priori (docs/workload-vlm-meme.md) and never tuned to
    // the paper's claims.
    /// Share of memes constructed hateful under their own culture's norms.
    static let hatefulShare = 0.5
    /// Share of hateful memes whose target is a group symbol in the image (else a word).
    static let targetInImageShare = 0.4
    /// Share of non-dominant memes with a dominant-only symbol somewhere in the image.
    static let dominantSymbolShare = 0.15

    /// idiomGloss[i]: the neutral word an idiom's literal translation gives.
    var idiomGloss: [Int]
    /// cultureGloss[i]: the neutral word a culture-bound word translates to.
    var cultureGloss: [Int]

    init(_ g: inout SeededGenerator) {
        idiomGloss = (0..<Self.idioms).map { _ in Self.uniform(Self.neutralWords, &g) }
        cultureGloss = (0..<Self.cultureWords).map { _ in Self.uniform(Self.neutralWords, &g) }
    }

    static func uniform(_ n: Int, _ g: inout SeededGenerator) -> Int { Int(g.next() % UInt64(n)) }

    static func languageIndex(_ name: String) -> Int? { languages.firstIndex(of: name) }

    // MARK: Tokens

    /// Special tokens: the question mark ending a request, and the answers.
    static let ask = 0, yes = 1, no = 2
    static func prompt(_ language: Int) -> Int { 3 + language }
    static var symbolBase: Int { 3 + languages.count }
    static var symbolCount: Int { neutralSymbols + groups + hateSymbols + (languages.count - 1) + dominantOnlySymbols }
    static var wordsPerLanguage: Int { neutralWords + 2 * groups + attacks + idioms + cultureWords }
    static var vocabulary: Int { symbolBase + symbolCount + languages.count * wordsPerLanguage }

    static func token(_ s: VLMMemeSymbol) -> Int {
        switch s {
        case .neutral(let i): return symbolBase + i
        case .group(let i): return symbolBase + neutralSymbols + i
        case .hate(let i): return symbolBase + neutralSymbols + groups + i
        case .local(let c): return symbolBase + neutralSymbols + groups + hateSymbols + (c - 1)
        case .dominantOnly(let i): return symbolBase + neutralSymbols + groups + hateSymbols + languages.count - 1 + i
        }
    }

    static func token(_ w: VLMMemeWord, language l: Int) -> Int {
        let base = symbolBase + symbolCount + l * wordsPerLanguage
        switch w {
        case .neutral(let i): return base + i
        case .group(let i): return base + neutralWords + i
        case .attack(let i): return base + neutralWords + groups + i
        case .slur(let i): return base + neutralWords + groups + attacks + i
        case .idiom(let i): return base + neutralWords + 2 * groups + attacks + i
        case .culture(let i): return base + neutralWords + 2 * groups + attacks + idioms + i
        }
    }

    /// The meme's tokens: image, then caption in its language.
    static func tokens(_ m: VLMMeme) -> [Int] {
        m.image.map { token($0) } + m.caption.map { token($0, language: m.captionLanguage) }
    }

    // MARK: Norms

    /// Whether `meme` is hateful under culture `norm`'s norms (the rule in the type's comment).
    static func isHateful(_ meme: VLMMeme, underNormOf norm: Int) -> Bool {
        var target = false, derogation = false
        for w in meme.caption {
            switch w {
            case .group: target = true
            case .slur: target = true; derogation = true
            case .attack, .idiom: derogation = true
            case .culture: if norm == meme.culture { derogation = true }
            case .neutral: break
            }
        }
        for s in meme.image {
            switch s {
            case .group: target = true
            case .hate: derogation = true
            case .local(let c): if c == norm { derogation = true }
            case .dominantOnly: if norm == dominant { derogation = true }
            case .neutral: break
            }
        }
        return target && derogation
    }

    // MARK: Translation

    /// The dictionary translation of a caption into the dominant language, word by word:
    /// neutral, group and attack words keep their meaning; a slur becomes its group's plain
    /// name, an idiom its literal (neutral) gloss, a culture-bound word a neutral gloss.
    /// Captions already in the dominant language are returned unchanged.
    func translated(_ meme: VLMMeme) -> VLMMeme {
        guard meme.captionLanguage != Self.dominant else { return meme }
        var out = meme
        out.captionLanguage = Self.dominant
        out.caption = meme.caption.map { w in
            switch w {
            case .neutral, .group, .attack: return w
            case .slur(let g): return .group(g)
            case .idiom(let i): return .neutral(idiomGloss[i])
            case .culture(let i): return .neutral(cultureGloss[i])
            }
        }
        return out
    }

    // MARK: Generation

    /// A meme of `culture`, its caption in the culture's own language. Half are constructed
    /// hateful under that culture's norms: a target (group word, or group symbol) and one
    /// derogation drawn uniformly from attack word, universal hate symbol, slur, idiom,
    /// culture-bound word and the culture's local hate symbol (the dominant culture's local
    /// symbols are its dominant-only ones). The rest: target only (0.4), derogation without a
    /// target (0.3), or neither (0.3). Non-dominant memes carry a dominant-only symbol with
    /// probability `dominantSymbolShare`. Free slots get neutral symbols and words, and both
    /// the image and the caption are shuffled.
    static func meme(culture c: Int, _ g: inout SeededGenerator) -> VLMMeme {
        var image: [VLMMemeSymbol] = [], caption: [VLMMemeWord] = []
        func localSymbol() -> VLMMemeSymbol { c == dominant ? .dominantOnly(uniform(dominantOnlySymbols, &g)) : .local(c) }
        func derogation(_ source: Int) {
            switch source {
            case 0: caption.append(.attack(uniform(attacks, &g)))
            case 1: image.append(.hate(uniform(hateSymbols, &g)))
            case 2: caption.append(.idiom(uniform(idioms, &g)))
            case 3: caption.append(.culture(uniform(cultureWords, &g)))
            default: image.append(localSymbol())
            }
        }
        if g.nextUnitDouble() < hatefulShare {
            let group = uniform(groups, &g)
            let inImage = g.nextUnitDouble() < targetInImageShare
            let source = uniform(6, &g)
            if source == 5 {
                caption.append(.slur(group))
                if inImage { image.append(.group(group)) }
            } else {
                if inImage { image.append(.group(group)) } else { caption.append(.group(group)) }
                derogation(source)
            }
        } else {
            let u = g.nextUnitDouble()
            if u < 0.4 {
                let group = uniform(groups, &g)
                if g.nextUnitDouble() < targetInImageShare { image.append(.group(group)) } else { caption.append(.group(group)) }
            } else if u < 0.7 {
                derogation(uniform(5, &g))
            }
        }
        if c != dominant && g.nextUnitDouble() < dominantSymbolShare {
            image.append(.dominantOnly(uniform(dominantOnlySymbols, &g)))
        }
        while image.count < imageSlots { image.append(.neutral(uniform(neutralSymbols, &g))) }
        while caption.count < captionSlots { caption.append(.neutral(uniform(neutralWords, &g))) }
        shuffle(&image, &g)
        shuffle(&caption, &g)
        return VLMMeme(culture: c, captionLanguage: c, image: image, caption: caption)
    }

    static func shuffle<T>(_ a: inout [T], _ g: inout SeededGenerator) {
        guard a.count > 1 else { return }
        for i in stride(from: a.count - 1, to: 0, by: -1) { a.swapAt(i, uniform(i + 1, &g)) }
    }
}
