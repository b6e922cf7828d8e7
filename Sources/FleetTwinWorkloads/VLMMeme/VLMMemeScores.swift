/// The scores of one (language, condition) cell, from the model's answers against the local
/// culture's labels.
struct VLMMemeScores: Equatable {
    var truePositive = 0, falsePositive = 0, falseNegative = 0, trueNegative = 0
    /// Errors whose answer equals the dominant culture's label (which then differs from the local one).
    var dominantErrors = 0

    mutating func add(predicted: Bool, local: Bool, dominant: Bool) {
        switch (predicted, local) {
        case (true, true): truePositive += 1
        case (true, false): falsePositive += 1
        case (false, true): falseNegative += 1
        case (false, false): trueNegative += 1
        }
        if predicted != local && predicted == dominant { dominantErrors += 1 }
    }

    var count: Int { truePositive + falsePositive + falseNegative + trueNegative }
    var errors: Int { falsePositive + falseNegative }
    var accuracy: Double { count == 0 ? 0 : Double(truePositive + trueNegative) / Double(count) }

    /// F1 of one class (0 when the class is neither predicted nor present).
    static func f1(_ tp: Int, _ fp: Int, _ fn: Int) -> Double {
        let denominator = 2 * tp + fp + fn
        return denominator == 0 ? 0 : Double(2 * tp) / Double(denominator)
    }

    /// Mean of the hateful class's F1 and the non-hateful class's F1.
    var macroF1: Double {
        (Self.f1(truePositive, falsePositive, falseNegative) + Self.f1(trueNegative, falseNegative, falsePositive)) / 2
    }

    /// Share of errors that follow the dominant culture's norm (0 without errors).
    var dominantErrorShare: Double { errors == 0 ? 0 : Double(dominantErrors) / Double(errors) }
}
