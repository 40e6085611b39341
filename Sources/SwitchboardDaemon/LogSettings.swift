import Logging

/// The `log` object of the configuration.
public struct LogSettings: Sendable, Hashable {
    /// `log.file`: the log file's path, or `nil` (key absent) for standard error, which journald captures when the
    /// daemon runs under systemd. The daemon reopens the file on SIGHUP, after logrotate renamed it.
    public var file: String?
    /// `log.level`: the lowest level written: `trace`, `debug`, `info`, `notice`, `warning`, `error` or `critical`.
    /// Default `info`.
    public var level: Logger.Level

    /// Creates log settings; the defaults are standard error at `info`.
    public init(file: String? = nil, level: Logger.Level = .info) {
        self.file = file
        self.level = level
    }
}
