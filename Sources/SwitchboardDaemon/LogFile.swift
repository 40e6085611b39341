import NIOConcurrencyHelpers

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The destination of the daemon's log lines: a file opened for appending, or standard error.
///
/// One `LogFile` is shared by every ``LogFileHandler``. Each line goes out in one `write(2)` while a lock is held,
/// so lines from concurrent tasks never interleave, and ``reopen()`` (on SIGHUP, after logrotate renamed the file)
/// swaps the descriptor under the same lock: every line lands exactly once, in the old file or the new one.
public final class LogFile: Sendable {
    /// The permissions a new log file gets (before the umask): owner read-write, group read.
    public static let fileMode: mode_t = 0o640

    /// The file's path, or `nil` for standard error.
    public let path: String?

    private let descriptor: NIOLockedValueBox<Int32>

    /// Opens (creating it if needed) the file at `path` for appending; `nil` writes to standard error.
    public init(path: String?) throws(LogFileError) {
        self.path = path
        if let path {
            descriptor = NIOLockedValueBox(try Self.openForAppending(path))
        } else {
            descriptor = NIOLockedValueBox(STDERR_FILENO)
        }
    }

    /// A log file that writes to standard error.
    public static func standardError() -> LogFile {
        // Cannot fail: no file is opened.
        try! LogFile(path: nil)
    }

    deinit {
        let descriptor = descriptor.withLockedValue { $0 }
        if descriptor != STDERR_FILENO { close(descriptor) }
    }

    /// Opens the file by its path again and switches to the new descriptor, then closes the old one. Call it after
    /// the file was renamed (logrotate's `create` + SIGHUP): lines written before the switch are in the renamed
    /// file, lines after it in the new one, none lost or doubled. Does nothing for standard error.
    ///
    /// When the file cannot be opened, logging goes on into the old descriptor and the error is thrown.
    public func reopen() throws(LogFileError) {
        guard let path else { return }
        let new = try Self.openForAppending(path)
        let old = descriptor.withLockedValue { current in
            let old = current
            current = new
            return old
        }
        close(old)
    }

    /// Writes one line; a line feed is added when `line` does not end with one. The whole line goes out in one
    /// `write(2)` (continued only if the kernel wrote part of it) under the lock.
    ///
    /// When the file cannot be written (disk full, I/O error) the line goes to standard error instead, so that
    /// journald still has it.
    public func write(line: String) {
        var line = line
        if line.utf8.last != UInt8(ascii: "\n") { line.append("\n") }
        line.withUTF8 { bytes in
            let failed = descriptor.withLockedValue { descriptor -> Bool in
                !Self.writeAll(bytes, to: descriptor) && descriptor != STDERR_FILENO
            }
            if failed { _ = Self.writeAll(bytes, to: STDERR_FILENO) }
        }
    }

    private static func writeAll(_ bytes: UnsafeBufferPointer<UInt8>, to descriptor: Int32) -> Bool {
        var written = 0
        while written < bytes.count {
            let result = systemWrite(descriptor, bytes.baseAddress! + written, bytes.count - written)
            if result < 0 {
                if errno == EINTR { continue }
                return false
            }
            written += result
        }
        return true
    }

    private static func openForAppending(_ path: String) throws(LogFileError) -> Int32 {
        while true {
            let descriptor = systemOpen(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, fileMode)
            if descriptor >= 0 { return descriptor }
            if errno != EINTR { throw LogFileError(.openFailed, path: path, errno: errno) }
        }
    }
}

// File-scope wrappers: inside `LogFile`, `write` and `open` would name its own methods.

private func systemWrite(_ descriptor: Int32, _ bytes: UnsafePointer<UInt8>, _ count: Int) -> Int {
    write(descriptor, bytes, count)
}

private func systemOpen(_ path: String, _ flags: Int32, _ mode: mode_t) -> Int32 {
    open(path, flags, mode)
}
