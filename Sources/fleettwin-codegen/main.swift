// fleettwin-codegen: the build-time generator behind the package's two build-tool plugins.
// It runs on the building machine, never ships, and writes one Swift file per call:
//
//   fleettwin-codegen identity OUTPUT ROOT FILE...   the build identity: FNV-1a 64 over each
//       file's path (relative to ROOT) and bytes, in path order, so the same sources give the
//       same identity on every machine and any change to them gives another
//   fleettwin-codegen embed OUTPUT NAME FILE...      each file's bytes as a string constant
//       (a dictionary by file name), so the binary needs no resource folder beside it
//
// Plain Foundation and no package dependency: a plugin's tool is built before everything.
import Foundation

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("fleettwin-codegen: error: \(message)\n".utf8))
    exit(1)
}

func read(_ path: String) -> Data {
    guard let data = FileManager.default.contents(atPath: path) else { fail("cannot read \(path)") }
    return data
}

/// A Swift string literal of any text: a raw literal with more `#` than any run in the text.
func literal(_ text: String) -> String {
    var longest = 0, run = 0
    for c in text { if c == "#" { run += 1; longest = max(longest, run) } else { run = 0 } }
    let hashes = String(repeating: "#", count: longest + 1)
    return hashes + "\"\"\"\n" + text + "\n\"\"\"" + hashes
}

func write(_ text: String, to path: String) {
    // Unchanged output keeps its timestamp, so nothing downstream recompiles.
    if let old = FileManager.default.contents(atPath: path), old == Data(text.utf8) { return }
    guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8)) else { fail("cannot write \(path)") }
}

let arguments = CommandLine.arguments
guard arguments.count >= 4 else { fail("usage: fleettwin-codegen identity|embed OUTPUT ROOT|NAME FILE...") }
let output = arguments[2]
let files = Array(arguments[3...].dropFirst())

switch arguments[1] {
case "identity":
    let root = URL(fileURLWithPath: arguments[3]).standardizedFileURL.path + "/"
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    func combine(_ bytes: some Sequence<UInt8>) {
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
    }
    let relative = files.map { path -> (String, String) in
        let full = URL(fileURLWithPath: path).standardizedFileURL.path
        return (full.hasPrefix(root) ? String(full.dropFirst(root.count)) : full, full)
    }.sorted { $0.0 < $1.0 }
    for (name, full) in relative {
        let data = read(full)
        combine(name.utf8)
        combine([0])
        combine(String(data.count).utf8)
        combine([0])
        combine(data)
    }
    let hex = String(hash, radix: 16)
    let digest = String(repeating: "0", count: 16 - hex.count) + hex
    write("""
        // Generated at build time by fleettwin-codegen (the BuildIdentity plugin). Do not edit.
        extension FleetTwinEngine {
            /// FNV-1a 64 of the package's sources (\(relative.count) files: every file of every
            /// target and Package.swift), as 16 hex digits.
            public static let sourceHash = "\(digest)"
        }

        """, to: output)
case "embed":
    let name = arguments[3]
    let entries = files.sorted().map { path -> String in
        let file = URL(fileURLWithPath: path).lastPathComponent
        guard let text = String(data: read(path), encoding: .utf8) else { fail("\(path) is not UTF-8 text") }
        return "        \"\(file)\": \(literal(text)),"
    }
    write("""
        // Generated at build time by fleettwin-codegen (the EmbedCalibration plugin) from the
        // files beside the target. Do not edit: edit those files.
        enum \(name) {
            /// File name to contents, for every embedded file.
            static let files: [String: String] = [
        \(entries.joined(separator: "\n"))
            ]
        }

        """, to: output)
default:
    fail("unknown mode \(arguments[1]); expected identity or embed")
}
