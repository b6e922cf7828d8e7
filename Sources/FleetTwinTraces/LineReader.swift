import Foundation

/// Reads a text file line by line in fixed-size chunks, so memory stays bounded by the
/// longest line, not the file. Accepts LF and CRLF endings, a missing final newline and a
/// UTF-8 byte-order mark (EF BB BF) at the start of the file, which is not part of line 1:
/// every text input (CSV, JSON Lines, JSON arrays, native traces) is read through here.
public struct LineReader: Sequence {
    public let path: String

    public init(path: String) { self.path = path }

    public struct Line {
        /// 1-based.
        public var number: Int
        public var text: Substring
    }

    public func makeIterator() -> Iterator { Iterator(handle: FileHandle(forReadingAtPath: path)) }

    /// Whether the file can be opened; iteration of an unreadable file yields nothing.
    public var isReadable: Bool { FileManager.default.isReadableFile(atPath: path) }

    public struct Iterator: IteratorProtocol {
        let handle: FileHandle?
        var buffer = [UInt8]()
        var start = 0
        var number = 0
        var exhausted = false

        /// The next chunk; empty at the end. Retries reads interrupted by a signal (the
        /// trapping `readData(ofLength:)` would crash on them); another read error ends the
        /// file, which the reader then reports as a truncated line or a missing header.
        mutating func readChunk() -> Data {
            guard let handle else { return Data() }
            for _ in 0..<100 {
                do { return try handle.read(upToCount: 1 << 20) ?? Data() } catch {
                    if (error as NSError).domain == NSPOSIXErrorDomain && (error as NSError).code == Int(EINTR) { continue }
                    return Data()
                }
            }
            return Data()
        }

        init(handle: FileHandle?) {
            self.handle = handle
            exhausted = handle == nil
        }

        /// The line from `start` to `end`; on line 1, without a leading byte-order mark.
        mutating func makeLine(end: Int) -> Line {
            var from = start
            if number == 0 && end - from >= 3 && buffer[from] == 0xEF && buffer[from + 1] == 0xBB && buffer[from + 2] == 0xBF { from += 3 }
            number += 1
            return Line(number: number, text: Substring(String(decoding: buffer[from..<end], as: UTF8.self)))
        }

        public mutating func next() -> Line? {
            while true {
                if let newline = buffer[start...].firstIndex(of: 0x0A) {
                    var end = newline
                    if end > start && buffer[end - 1] == 0x0D { end -= 1 }
                    let line = makeLine(end: end)
                    start = newline + 1
                    return line
                }
                if exhausted {
                    guard start < buffer.count else { return nil }
                    var end = buffer.count
                    if buffer[end - 1] == 0x0D { end -= 1 }
                    let line = makeLine(end: end)
                    start = buffer.count
                    return line
                }
                buffer.removeFirst(start)
                start = 0
                let chunk = readChunk()
                if chunk.isEmpty { exhausted = true; try? handle?.close() } else { buffer.append(contentsOf: chunk) }
            }
        }
    }
}
