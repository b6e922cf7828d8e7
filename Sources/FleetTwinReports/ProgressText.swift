import Foundation

/// The text of the progress line a long run draws on a terminal.
public enum ProgressText {
    /// `simulated 3h12m · jobs done 120 of 300 · 45000 events/s · ETA 2.0s`. The ETA assumes
    /// the remaining jobs finish at the rate the finished ones did; `–` until one has.
    public static func line(simulatedSeconds: Double, processedEvents: Int, jobsCompleted done: Int, jobsTotal total: Int,
                            elapsedSeconds: Double) -> String {
        let rate = elapsedSeconds > 0 ? Double(processedEvents) / elapsedSeconds : 0
        let eta = done > 0 && total >= done ? duration(elapsedSeconds * Double(total - done) / Double(done)) : "–"
        return "simulated \(duration(simulatedSeconds)) · jobs done \(done) of \(total) · \(fixed(rate, 0)) events/s · ETA \(eta)"
    }
}
