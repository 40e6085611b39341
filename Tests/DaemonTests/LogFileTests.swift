import Foundation
import Logging
import Synchronization
import Testing

@testable import SwitchboardDaemon

#if canImport(Glibc)
import Glibc
#endif

/// Whether `line` starts with a timestamp like `2026-11-23T09:15:02.123Z ` (checked by hand: a regular expression
/// per line makes the 40,000-line test slow in debug builds).
private func hasTimestamp(_ line: Substring) -> Bool {
    let bytes = Array(line.utf8.prefix(25))
    guard bytes.count == 25 else { return false }
    let shape = Array("dddd-dd-ddTdd:dd:dd.dddZ ".utf8)
    return zip(bytes, shape).allSatisfy { byte, expected in
        expected == UInt8(ascii: "d") ? (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) : byte == expected
    }
}

private func lines(of path: String) throws -> [Substring] {
    try contents(of: path).split(separator: "\n", omittingEmptySubsequences: false).dropLast()
}

@Suite("Log file")
struct LogFileTests {
    @Test("a line is the UTC time with milliseconds, the level, sorted metadata and the message")
    func lineFormat() {
        let time = timespec(tv_sec: 1_795_425_302, tv_nsec: 123_999_999)
        let line = LogFileHandler.line(
            time: time,
            level: .info,
            metadata: ["listener.name": "ivr", "call.uuid": "7f4c", "a": ["x", "y"]],
            message: "session started"
        )
        #expect(
            line == "2026-11-23T09:15:02.123Z info [a=[\"x\", \"y\"] call.uuid=7f4c listener.name=ivr] session started"
        )
        let bare = LogFileHandler.line(
            time: timespec(tv_sec: 946_684_799, tv_nsec: 7_000_000),
            level: .critical,
            metadata: [:],
            message: "x"
        )
        #expect(bare == "1999-12-31T23:59:59.007Z critical x")
    }

    @Test("the timestamp is the current time")
    func currentTime() throws {
        let directory = try TemporaryDirectory()
        let file = try LogFile(path: directory.file("now.log"))
        let logger = Logger(label: "t") { _ in LogFileHandler(file: file) }
        let before = Date()
        logger.info("now")
        let after = Date()
        let line = try #require(try lines(of: directory.file("now.log")).first)
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let stamp = try #require(formatter.date(from: String(line.prefix(24))))
        #expect(stamp >= before.addingTimeInterval(-0.001) && stamp <= after)
    }

    @Test("handlers write at their own level and above, with their metadata, the provider's and the message's")
    func levelsAndMetadata() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("levels.log")
        let file = try LogFile(path: path)
        let provider = Logger.MetadataProvider { ["task": "t1"] }
        var quiet = Logger(label: "quiet") { _ in LogFileHandler(file: file, level: .notice) }
        quiet[metadataKey: "listener.name"] = "ivr"
        let chatty = Logger(label: "chatty") { _ in
            LogFileHandler(file: file, level: .trace, metadata: ["listener.name": "events"], metadataProvider: provider)
        }
        quiet.info("not written")
        quiet.notice("written", metadata: ["call.uuid": "abc"])
        chatty.trace("trace line", metadata: ["task": "explicit"])
        quiet.error("failed", error: POSIXError(.ECONNREFUSED))
        let written = try lines(of: path).map { $0.dropFirst(25) }
        #expect(
            written == [
                "notice [call.uuid=abc listener.name=ivr] written",
                "trace [listener.name=events task=explicit] trace line",
                "error [error=\(POSIXError(.ECONNREFUSED)) listener.name=ivr] failed",
            ]
        )
    }

    @Test("the file is appended to, created with mode 0640")
    func appendsAndCreates() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("append.log")
        try "earlier line\n".write(toFile: path, atomically: false, encoding: .utf8)
        do {
            let file = try LogFile(path: path)
            file.write(line: "second")
            file.write(line: "third\n")
        }
        #expect(try contents(of: path) == "earlier line\nsecond\nthird\n")

        let created = directory.file("created.log")
        _ = try LogFile(path: created)
        var status = stat()
        try #require(stat(created, &status) == 0)
        #expect(status.st_mode & 0o777 & ~0o640 == 0)
        #expect(status.st_mode & 0o600 == 0o600)
    }

    @Test("a file that cannot be opened is a clear error")
    func openFailure() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("missing/dir/x.log")
        let error = try #require(throws: LogFileError.self) { try LogFile(path: path) }
        #expect(error.code == .openFailed)
        #expect(error.errno == ENOENT)
        #expect(error.description.contains(path))
    }

    @Test("reopen after a rename: earlier lines in the renamed file, later ones in a new file")
    func reopenAfterRename() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("switchboard.log")
        let file = try LogFile(path: path)
        file.write(line: "one")
        try #require(rename(path, path + ".1") == 0)
        file.write(line: "two")  // still the old descriptor: the renamed file
        try file.reopen()
        file.write(line: "three")
        #expect(try contents(of: path + ".1") == "one\ntwo\n")
        #expect(try contents(of: path) == "three\n")
    }

    @Test("when reopening fails, logging goes on into the old file")
    func reopenFailure() throws {
        let directory = try TemporaryDirectory()
        let logDirectory = directory.file("logs")
        try #require(mkdir(logDirectory, 0o755) == 0)
        let path = logDirectory + "/x.log"
        let file = try LogFile(path: path)
        file.write(line: "before")
        try #require(rename(logDirectory, directory.file("moved")) == 0)
        let error = try #require(throws: LogFileError.self) { try file.reopen() }
        #expect(error.errno == ENOENT)
        file.write(line: "after")
        #expect(try contents(of: directory.file("moved/x.log")) == "before\nafter\n")
    }

    @Test("standard error needs no file and ignores reopen")
    func standardError() throws {
        let file = LogFile.standardError()
        #expect(file.path == nil)
        try file.reopen()
    }

    @Test("under concurrent logging, renames and reopens lose and duplicate no line")
    func concurrentReopen() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("busy.log")
        let file = try LogFile(path: path)
        let writers = 4
        let rotations = 6
        // Writers run until the last rotation is done, then write a few more lines: bounded by time, not by a line
        // count, so the test stays short on a slow machine and still spans every rotation.
        let rotating = RotationState()

        let (rotated, written) = try await withThrowingTaskGroup(of: ([String], Int).self) { group in
            for writer in 0..<writers {
                group.addTask {
                    var logger = Logger(label: "writer") { _ in LogFileHandler(file: file, level: .debug) }
                    logger[metadataKey: "writer"] = "\(writer)"
                    var number = 0
                    var tail = 200
                    while tail > 0 {
                        logger.info("line \(writer)/\(number) with some padding to make it a realistic length")
                        number += 1
                        if rotating.isDone { tail -= 1 }
                        if number % 50 == 0 { await Task.yield() }
                    }
                    return ([], number)
                }
            }
            group.addTask {
                var renamed: [String] = []
                for rotation in 1...rotations {
                    try await Task.sleep(for: .milliseconds(15))
                    let target = "\(path).\(rotation)"
                    guard rename(path, target) == 0 else { throw POSIXError(.EIO) }
                    renamed.append(target)
                    try file.reopen()
                }
                rotating.finish()
                return (renamed, 0)
            }
            var all: ([String], Int) = ([], 0)
            for try await (paths, lines) in group {
                all.0 += paths
                all.1 += lines
            }
            return all
        }
        #expect(rotated.count == rotations)

        var seen = Set<String>()
        var duplicates: [String] = []
        var malformed: [Substring] = []
        var filesWithLines = 0
        for log in rotated + [path] {
            let logLines = try lines(of: log)
            if !logLines.isEmpty { filesWithLines += 1 }
            for line in logLines {
                // "<timestamp> info [writer=W] line W/N with some padding to make it a realistic length"
                let words = line.split(separator: " ")
                guard hasTimestamp(line), words.count == 14, words[1] == "info", words[3] == "line",
                    words[2] == "[writer=\(words[4].prefix { $0 != "/" })]",
                    words[13] == "length"
                else {
                    malformed.append(line)
                    continue
                }
                let key = String(words[4])
                if !seen.insert(key).inserted { duplicates.append(key) }
            }
        }
        #expect(malformed.count == 0, "malformed lines, the first ones: \(malformed.prefix(5))")
        #expect(duplicates.count == 0, "duplicated lines, the first ones: \(duplicates.prefix(5))")
        #expect(seen.count == written)
        // The rotations happened while lines were being written, not after.
        #expect(filesWithLines >= 2)
    }
}

/// Whether the rotating task of the concurrency test has finished, shared with its writers.
private final class RotationState: Sendable {
    private let done = Atomic<Bool>(false)

    var isDone: Bool { done.load(ordering: .relaxed) }

    func finish() { done.store(true, ordering: .relaxed) }
}
