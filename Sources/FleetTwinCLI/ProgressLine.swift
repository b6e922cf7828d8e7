/// Progress of a long simulation on standard error: one line redrawn in place, shown only
/// when standard error is a terminal, the user did not ask for `--quiet`, and the run has
/// lasted over a second. Wall-clock time is read here, in the CLI, never in the model.
import FleetTwinReports
import FleetTwinScheduling
import Foundation

final class ProgressLine: @unchecked Sendable {
    /// Events between observer calls: often enough for a smooth line, rare enough to cost nothing.
    static let eventInterval = 4_096
    private static let delay = Duration.seconds(1)
    private static let redrawEvery = Duration.milliseconds(100)

    // The observer runs on the simulation's thread; the lock keeps this state consistent
    // with whoever calls `finish`.
    private let lock = NSLock()
    private let clock = ContinuousClock()
    private let started: ContinuousClock.Instant
    private var lastDrawn: ContinuousClock.Instant?

    private init() { started = clock.now }

    /// A progress line for this process, or nil when nothing should be drawn.
    static func forStandardError(quiet: Bool) -> ProgressLine? {
        quiet || isatty(STDERR_FILENO) == 0 ? nil : ProgressLine()
    }

    func update(_ progress: SimulationProgress) {
        lock.withLock {
            let now = clock.now
            let elapsed = now - started
            guard elapsed > Self.delay else { return }
            if let lastDrawn, now - lastDrawn < Self.redrawEvery { return }
            lastDrawn = now
            let text = ProgressText.line(
                simulatedSeconds: progress.now.seconds, processedEvents: progress.processedEvents,
                jobsCompleted: progress.jobsCompleted, jobsTotal: progress.jobsTotal, elapsedSeconds: Self.seconds(elapsed))
            write("\r" + text + "\u{1B}[K")
        }
    }

    /// Clears the line, so the summary that follows starts on a clean terminal line.
    func finish() {
        lock.withLock {
            if lastDrawn != nil { write("\r\u{1B}[K") }
        }
    }

    private static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    private func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}
