/// One evaluation condition: the paper's three axes (arXiv 2602.07497): zero- or one-shot,
/// the prompt in the meme's native language or in English (the dominant language), and the
/// original caption or translate-then-detect. Written `<shot>.<prompt>.<caption>`, e.g.
/// `zero.native.original` or `one.english.translated`.
struct VLMMemeCondition: Equatable, Sendable {
    var oneShot: Bool
    var nativePrompt: Bool
    var translated: Bool

    var shot: String { oneShot ? "one" : "zero" }
    var prompt: String { nativePrompt ? "native" : "english" }
    var caption: String { translated ? "translated" : "original" }
    var name: String { "\(shot).\(prompt).\(caption)" }

    /// All eight conditions, in the fixed order results list them.
    static let all: [VLMMemeCondition] = [false, true].flatMap { one in
        [true, false].flatMap { native in
            [false, true].map { translated in VLMMemeCondition(oneShot: one, nativePrompt: native, translated: translated) }
        }
    }

    init(oneShot: Bool, nativePrompt: Bool, translated: Bool) {
        self.oneShot = oneShot; self.nativePrompt = nativePrompt; self.translated = translated
    }

    /// Parses `<shot>.<prompt>.<caption>`; nil when any part is not one of its two words.
    init?(name: String) {
        guard let found = Self.all.first(where: { $0.name == name }) else { return nil }
        self = found
    }

    /// The request's tokens: the prompt-language token, then (one-shot) the example's image and
    /// caption, the question token and its label token, then the query's image and caption and
    /// the question token; the answer (yes/no) is read at the last position. Under
    /// translate-then-detect the example's caption is translated too.
    func tokens(query: VLMMeme, example: VLMMeme?, exampleHateful: Bool, world: VLMMemeWorld) -> [Int] {
        let language = nativePrompt ? query.culture : VLMMemeWorld.dominant
        var out = [VLMMemeWorld.prompt(language)]
        if oneShot, let example {
            out += VLMMemeWorld.tokens(translated ? world.translated(example) : example)
            out += [VLMMemeWorld.ask, exampleHateful ? VLMMemeWorld.yes : VLMMemeWorld.no]
        }
        out += VLMMemeWorld.tokens(translated ? world.translated(query) : query)
        out.append(VLMMemeWorld.ask)
        return out
    }

    /// Tokens of a request: the prompt token, one or two memes, one or two question tokens and
    /// (one-shot) the example's label.
    var length: Int {
        let meme = VLMMemeWorld.imageSlots + VLMMemeWorld.captionSlots
        return oneShot ? 2 * meme + 4 : meme + 2
    }

    static var maxLength: Int { 2 * (VLMMemeWorld.imageSlots + VLMMemeWorld.captionSlots) + 4 }
}
