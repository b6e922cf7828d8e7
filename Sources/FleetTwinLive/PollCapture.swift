import Foundation

/// Writes polls in the capture format `CapturedPolls` reads (../shared/slurm/capture-seed8):
/// `squeue-NNNN.json` and `sinfo-NNNN.json` byte for byte as the commands printed them, and
/// `at-NNNN.txt`, the observation's Unix time in seconds with six decimals; `sacct-NNNN.json`
/// byte for byte when sacct answered, or `sacct-NNNN.err` (its failure) when it did not. A
/// failed poll writes only its `at` file, so replaying the capture logs that poll as failed too.
public struct PollCapture {
    /// The capture directory (created by `init`).
    public let directory: String

    /// Creates the directory when needed; throws when it cannot.
    public init(directory: String) throws {
        self.directory = directory
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    /// Writes poll number `index`; a failed poll without a time is written at `fallbackTime`
    /// (Unix µs, the caller's clock).
    public func write(_ poll: Poll, index: Int, fallbackTime: Int64) throws {
        func path(_ prefix: String, _ suffix: String) -> URL {
            URL(fileURLWithPath: directory).appendingPathComponent(CapturedPolls.name(prefix, index, suffix))
        }
        switch poll {
        case .replies(let replies):
            try replies.squeue.write(to: path("squeue", ".json"), options: .atomic)
            try replies.sinfo.write(to: path("sinfo", ".json"), options: .atomic)
            if let sacct = replies.sacct {
                try sacct.write(to: path("sacct", ".json"), options: .atomic)
            } else if let failure = replies.sacctFailure {
                try Data((failure + "\n").utf8).write(to: path("sacct", ".err"), options: .atomic)
            }
            // The at file last: a poll whose at file exists is complete.
            try Data((CapturedPolls.text(replies.time) + "\n").utf8).write(to: path("at", ".txt"), options: .atomic)
        case .failed(let time, _):
            try Data((CapturedPolls.text(time ?? fallbackTime) + "\n").utf8).write(to: path("at", ".txt"), options: .atomic)
        }
    }
}
