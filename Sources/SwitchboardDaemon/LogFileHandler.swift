import Logging
import SwitchboardDiagnostics

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A swift-log handler that writes one line per message to a ``LogFile``:
/// ```
/// 2026-11-23T09:15:02.123Z info [call.uuid=7f4c… listener.name=ivr] session started
/// ```
/// The time is UTC with milliseconds, metadata is sorted by key (and left out when there is none), and the message
/// comes last. One entry is always one line: line breaks and other control characters in the message and the
/// metadata are escaped (`\n`, `\u{1b}`), whatever the code that logged did, so no peer's text can split an entry or
/// forge one. Bootstrap the logging system with one shared file:
/// ```swift
/// let file = try LogFile(path: configuration.log.file)
/// LoggingSystem.bootstrap { _ in LogFileHandler(file: file, level: configuration.log.level) }
/// ```
public struct LogFileHandler: LogHandler {
    /// Where the lines go; shared by every handler made from it.
    public let file: LogFile
    /// The lowest level this handler writes.
    public var logLevel: Logger.Level
    /// Metadata added to every line of this handler.
    public var metadata: Logger.Metadata
    /// Supplies metadata from the task's context (for example a call's UUID) for every line.
    public var metadataProvider: Logger.MetadataProvider?

    /// Creates a handler writing to `file` at `level` and above.
    public init(
        file: LogFile,
        level: Logger.Level = .info,
        metadata: Logger.Metadata = [:],
        metadataProvider: Logger.MetadataProvider? = nil
    ) {
        self.file = file
        self.logLevel = level
        self.metadata = metadata
        self.metadataProvider = metadataProvider
    }

    /// One metadata value of this handler.
    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Writes the event as one line, if its level is at least ``logLevel``. An attached error is shown as the
    /// metadata value `error`.
    public func log(event: LogEvent) {
        guard event.level >= logLevel else { return }
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let explicit = event.metadata { merged.merge(explicit) { _, new in new } }
        if let error = event.error, merged["error"] == nil { merged["error"] = "\(error)" }
        file.write(line: Self.line(time: Self.now(), level: event.level, metadata: merged, message: event.message))
    }

    /// The line for one message, without the line feed.
    static func line(time: timespec, level: Logger.Level, metadata: Logger.Metadata, message: Logger.Message) -> String
    {
        var line = timestamp(time)
        line += " "
        line += level.rawValue
        if !metadata.isEmpty {
            line += " ["
            line += metadata.sorted { $0.key < $1.key }.map { "\(oneLine($0.key))=\(oneLine("\($0.value)"))" }
                .joined(separator: " ")
            line += "]"
        }
        line += " "
        line += oneLine(message.description)
        return line
    }

    /// The text with control characters escaped, whole (no length limit: the code that logged chose the length).
    private static func oneLine(_ text: String) -> String {
        text.needsLogEscaping ? text.loggable(limit: .max) : text
    }

    /// ISO 8601 in UTC with milliseconds: `2026-11-23T09:15:02.123Z`.
    static func timestamp(_ time: timespec) -> String {
        var seconds = time.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return pad(Int(parts.tm_year) + 1900, 4) + "-" + pad(Int(parts.tm_mon) + 1, 2) + "-"
            + pad(Int(parts.tm_mday), 2)
            + "T" + pad(Int(parts.tm_hour), 2) + ":" + pad(Int(parts.tm_min), 2) + ":" + pad(Int(parts.tm_sec), 2)
            + "." + pad(Int(time.tv_nsec) / 1_000_000, 3) + "Z"
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }

    private static func now() -> timespec {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return time
    }
}
