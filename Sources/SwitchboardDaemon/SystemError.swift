#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Words for `errno` values.
enum SystemError {
    /// `"No such file or directory (ENOENT)"`-style text for an `errno` value.
    static func describe(_ code: Int32) -> String {
        let text = strerror(code).map { String(cString: $0) } ?? "error \(code)"
        return "\(text) (errno \(code))"
    }
}
