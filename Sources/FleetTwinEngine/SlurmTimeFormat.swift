/// Slurm's time formats (`--time`, slurm.conf durations, sacct's Timelimit): `MM`, `MM:SS`,
/// `HH:MM:SS`, `D-HH`, `D-HH:MM`, `D-HH:MM:SS` (https://slurm.schedmd.com/sbatch.html#OPT_time).
public enum SlurmTimeFormat {
    /// Seconds; `.infinity` for `UNLIMITED`, `INFINITE` or `Partition_Limit`; nil when the text
    /// is none of these forms.
    public static func seconds(_ text: String) -> Double? {
        if ["UNLIMITED", "INFINITE", "Partition_Limit"].contains(text) { return .infinity }
        var days = 0.0, rest = Substring(text)
        let hasDays = rest.contains("-")
        if let dash = rest.firstIndex(of: "-") {
            guard let d = Double(rest[..<dash]), d >= 0 else { return nil }
            days = d
            rest = rest[rest.index(after: dash)...]
        }
        let parts = rest.split(separator: ":", omittingEmptySubsequences: false).map { Double($0) }
        guard !parts.isEmpty, parts.count <= 3, parts.allSatisfy({ ($0 ?? -1) >= 0 }) else { return nil }
        let p = parts.map { $0! }
        let seconds: Double
        if hasDays {
            seconds = p[0] * 3600 + (p.count > 1 ? p[1] * 60 : 0) + (p.count > 2 ? p[2] : 0)
        } else {
            switch p.count {
            case 1: seconds = p[0] * 60
            case 2: seconds = p[0] * 60 + p[1]
            default: seconds = p[0] * 3600 + p[1] * 60 + p[2]
            }
        }
        return days * 86_400 + seconds
    }
}
