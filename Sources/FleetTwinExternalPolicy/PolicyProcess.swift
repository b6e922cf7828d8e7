import FleetTwinPolicy
import Foundation

/// The external policy's child process: one JSON line written to its standard input, one
/// line read back from its standard output, within a wall-clock limit per answer.
///
/// Foundation's `Process` starts it (`/bin/sh -c command`, in its own process group); the
/// pipes are raw descriptors read and written with `poll`, because Foundation's pipe reads
/// have no timeout and trap on EINTR. Standard error goes to a temporary file, so a chatty
/// policy can never block on a full pipe, and its tail is quoted when the policy fails.
///
/// The wall clock is read here only, to bound the wait; nothing it reads reaches the
/// simulation, so a deterministic policy gives deterministic runs.
///
/// `@unchecked Sendable`: its descriptors are used by one simulation at a time, from the
/// global scheduler that owns the policy (one serial executor); the class only lets copies
/// of the policy value share one process.
final class PolicyProcess: @unchecked Sendable {
    let command: String
    private let process = Process()
    private let exited = DispatchSemaphore(value: 0)
    private var input: Int32 = -1
    private var output: Int32 = -1
    private let errorFile: URL
    /// Bytes read past the last answer line (a policy may write ahead).
    private var pending: [UInt8] = []
    /// An answer longer than this is malformed (a runaway writer), not waited out.
    static let maxLineBytes = 64 << 20

    /// Starts `settings.command`; throws a message saying why it could not start.
    init(_ settings: ExternalPolicySettings) throws(PolicyProcessError) {
        command = settings.command
        // A write to a policy that has exited must fail with EPIPE, not kill FleetTwin: the
        // signal is ignored process-wide, as Rust's and Go's runtimes do by default.
        signal(SIGPIPE, SIG_IGN)
        errorFile = FileManager.default.temporaryDirectory.appendingPathComponent("fleettwin-policy-\(UUID().uuidString).stderr")
        var toChild: [Int32] = [-1, -1], fromChild: [Int32] = [-1, -1]
        guard pipe(&toChild) == 0, pipe(&fromChild) == 0 else {
            throw PolicyProcessError("could not make pipes: \(String(cString: strerror(errno)))")
        }
        // Close-on-exec, so that no other child (another run's policy) inherits them; the
        // spawn's dup2 onto 0 and 1 clears it for this one.
        for fd in toChild + fromChild { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        input = toChild[1]
        output = fromChild[0]
        _ = fcntl(input, F_SETFL, fcntl(input, F_GETFL) | O_NONBLOCK)
        _ = FileManager.default.createFile(atPath: errorFile.path, contents: nil)
        let childIn = FileHandle(fileDescriptor: toChild[0], closeOnDealloc: true)
        let childOut = FileHandle(fileDescriptor: fromChild[1], closeOnDealloc: true)
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", settings.command]
        if let directory = settings.directory { process.currentDirectoryURL = URL(fileURLWithPath: directory, isDirectory: true) }
        process.standardInput = childIn
        process.standardOutput = childOut
        let exited = self.exited
        process.terminationHandler = { _ in exited.signal() }
        do {
            process.standardError = try FileHandle(forWritingTo: errorFile)
            try process.run()
        } catch {
            throw PolicyProcessError("`\(settings.command)` could not start: \(error.localizedDescription)")
        }
        // The child holds its own copies; ours would keep its standard input from ever ending.
        try? childIn.close()
        try? childOut.close()
    }

    /// Writes `request` (one line, newline included) and reads one line back within
    /// `timeout` seconds of wall-clock time.
    func exchange(_ request: [UInt8], timeout: Double) throws(PolicyProcessError) -> [UInt8] {
        // The edge of the model: the wall clock only bounds how long the child may take to
        // answer (a timeout fails the run); no reading of it reaches a decision.
        let deadline = ContinuousClock.now + .milliseconds(Int64(timeout * 1000))
        try write(request, before: deadline)
        return try readLine(before: deadline, timeout: timeout)
    }

    private func write(_ bytes: [UInt8], before deadline: ContinuousClock.Instant) throws(PolicyProcessError) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(input, $0.baseAddress! + offset, $0.count - offset) }
            if n > 0 { offset += n; continue }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                // The policy is not reading yet: wait for room in the pipe, or the deadline.
                guard try wait(for: input, events: Int16(POLLOUT), before: deadline) else {
                    throw stopped("did not read its request within the time limit")
                }
                continue
            }
            throw ended("closed its standard input")
        }
    }

    private func readLine(before deadline: ContinuousClock.Instant, timeout: Double) throws(PolicyProcessError) -> [UInt8] {
        var scanned = 0
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            if let newline = pending[scanned...].firstIndex(of: UInt8(ascii: "\n")) {
                let line = Array(pending[..<newline])
                pending.removeSubrange(...newline)
                return line
            }
            scanned = pending.count
            guard pending.count <= Self.maxLineBytes else { throw stopped("wrote more than \(Self.maxLineBytes >> 20) MiB without a newline") }
            guard try wait(for: output, events: Int16(POLLIN), before: deadline) else {
                throw stopped("did not answer within \(timeout.formatted()) s (the external policy's timeout)")
            }
            let n = chunk.withUnsafeMutableBytes { Glibc.read(output, $0.baseAddress!, $0.count) }
            if n > 0 { pending.append(contentsOf: chunk[..<n]); continue }
            if n < 0 && errno == EINTR { continue }
            throw ended(pending.isEmpty ? "closed its standard output without answering" : "closed its standard output in the middle of an answer")
        }
    }

    /// Whether `fd` became ready before `deadline`.
    private func wait(for fd: Int32, events: Int16, before deadline: ContinuousClock.Instant) throws(PolicyProcessError) -> Bool {
        while true {
            let left = deadline - ContinuousClock.now
            guard left > .zero else { return false }
            let ms = Int32(clamping: left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000 + 1)
            var entry = pollfd(fd: fd, events: events, revents: 0)
            let n = poll(&entry, 1, ms)
            if n > 0 { return true }  // ready, or hung up: the read or write says which
            if n < 0 && errno != EINTR { throw PolicyProcessError("poll failed: \(String(cString: strerror(errno)))") }
        }
    }

    /// The policy ended (or stopped talking): waits briefly for its exit status.
    private func ended(_ what: String) -> PolicyProcessError {
        if exited.wait(timeout: .now() + 2) == .timedOut {
            kill()
            return PolicyProcessError("`\(command)` \(what)" + errorTail)
        }
        exited.signal()
        let status = process.terminationReason == .exit ? "exited with status \(process.terminationStatus)"
            : "was killed by signal \(process.terminationStatus)"
        return PolicyProcessError("`\(command)` \(what) and \(status)" + errorTail)
    }

    /// The policy overstepped (time, size): it is killed, with whatever it started.
    private func stopped(_ what: String) -> PolicyProcessError {
        kill()
        return PolicyProcessError("`\(command)` \(what); it was stopped" + errorTail)
    }

    /// Kills the policy's process group (the shell and what it started).
    func kill() {
        // The group outlives the shell when it did not exec the policy, so it is killed even
        // when the shell has exited.
        guard process.processIdentifier > 0 else { return }
        Glibc.kill(-process.processIdentifier, SIGKILL)
    }

    /// The last lines of its standard error, as a suffix for a message ("" when it wrote none).
    var errorTail: String {
        guard let handle = try? FileHandle(forReadingFrom: errorFile) else { return "" }
        defer { try? handle.close() }
        let size = (try? handle.seekToEnd()) ?? 0
        try? handle.seek(toOffset: size > 2048 ? size - 2048 : 0)
        let text = String(decoding: handle.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else { return "" }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).suffix(20)
        return "; its standard error ends:\n" + lines.map { "  | " + $0 }.joined(separator: "\n")
    }

    /// Ends the conversation: standard input closes (a policy should exit at end of input);
    /// one still running two seconds later is killed.
    deinit {
        if input >= 0 { close(input) }
        if output >= 0 { close(output) }
        if process.isRunning { _ = exited.wait(timeout: .now() + 2) }
        kill()
        try? FileManager.default.removeItem(at: errorFile)
    }
}

/// Why the external policy's process failed, in words.
struct PolicyProcessError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
