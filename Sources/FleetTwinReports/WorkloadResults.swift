import Foundation

/// The real workloads of a run: each job's result checked against an uninterrupted reference
/// run, and what the jobs of each kind show together.
public struct WorkloadResults: Codable, Sendable, Equatable {
    public struct Job: Codable, Sendable, Equatable {
        public var job: String
        public var kind: String
        public var steps: Int
        /// Fresh objects built from checkpoint bytes (after preemptions, migrations, failures).
        public var restores: Int
        public var dumps: Int
        /// The device counts its replicas ran on, in order of first use.
        public var devices: [Int]
        public var resultHash: String
        public var referenceHash: String
        public var identical: Bool
        public var metrics: [String: Double]

        public init(job: String, kind: String, steps: Int, restores: Int, dumps: Int, devices: [Int],
                    resultHash: String, referenceHash: String, metrics: [String: Double]) {
            self.job = job
            self.kind = kind
            self.steps = steps
            self.restores = restores
            self.dumps = dumps
            self.devices = devices
            self.resultHash = resultHash
            self.referenceHash = referenceHash
            self.identical = resultHash == referenceHash
            self.metrics = metrics
        }
    }

    public struct Analysis: Codable, Sendable, Equatable {
        public var kind: String
        public var title: String
        public var lines: [String]
        public var values: [String: Double]

        public init(kind: String, title: String, lines: [String], values: [String: Double]) {
            self.kind = kind
            self.title = title
            self.lines = lines
            self.values = values
        }
    }

    public var jobs: [Job]
    public var analyses: [Analysis]

    public init(jobs: [Job], analyses: [Analysis]) {
        self.jobs = jobs
        self.analyses = analyses
    }

    /// Compact JSON with sorted keys: the stored form.
    public func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    public init(json: String) throws {
        self = try JSONDecoder().decode(Self.self, from: Data(json.utf8))
    }

    public var verified: ResultsVerified {
        ResultsVerified(checked: jobs.count, identical: jobs.filter(\.identical).count)
    }

    /// A section for people: one line per job, then each kind's analysis.
    public func text() -> String {
        var lines = ["real workloads (each result compared with an uninterrupted run of the same job)"]
        let width = min(48, jobs.map(\.job.count).max() ?? 0)
        for j in jobs {
            let mechanics = "\(j.steps) steps, \(j.restores) restores from bytes, devices \(j.devices.map(String.init).joined(separator: "->"))"
            // Columns align up to 48 characters; a longer name is printed whole, never cut
            // (matrix jobs differ only at their end).
            lines.append("  " + (j.job.count >= width ? j.job : j.job.padding(toLength: width, withPad: " ", startingAt: 0)) + "  "
                         + (j.identical ? "identical" : "DIFFERS (\(j.resultHash) vs \(j.referenceHash))") + "  " + mechanics)
        }
        lines.append("  results verified: \(verified.identical) of \(verified.checked) identical")
        for a in analyses {
            lines.append("")
            lines.append(a.title)
            lines += a.lines.map { "  " + $0 }
        }
        return lines.joined(separator: "\n")
    }
}

/// How many real jobs were checked against their reference run, and how many matched.
public struct ResultsVerified: Codable, Sendable, Equatable {
    public var checked: Int
    public var identical: Int
    public init(checked: Int, identical: Int) {
        self.checked = checked
        self.identical = identical
    }
}
