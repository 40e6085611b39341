import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A system or socket error in the words an operator reads: the `errno` values and NIO errors that connecting,
/// listening, reading and opening files end with, mapped in one place, so that NIO's and Foundation's raw texts
/// (`bind(descriptor:ptr:bytes:)`, `SingleConnectionFailure(…)`, `(errno: 98)`) never make up a log line.
///
/// ```swift
/// SocketErrorDescription(IOError(errnoCode: EADDRINUSE, reason: "bind")).reason   // "the address is already in use"
/// ```
public struct SocketErrorDescription: Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, for code that words its own sentence (`FreeSWITCH at … refused the connection`).
    public enum Cause: Sendable, Hashable {
        /// Nothing listens on the port (`ECONNREFUSED`).
        case connectionRefused
        /// No answer in time (`ETIMEDOUT`, NIO's connect timeout).
        case timedOut
        /// No route to the host (`EHOSTUNREACH`).
        case hostUnreachable
        /// No route to the host's network (`ENETUNREACH`).
        case networkUnreachable
        /// The host name does not resolve (DNS).
        case hostNotFound
        /// The peer reset the connection (`ECONNRESET`, `EPIPE`).
        case connectionReset
        /// The connection is closed (end of file, a write after the close).
        case connectionClosed
        /// Another socket already listens on the address (`EADDRINUSE`).
        case addressInUse
        /// The process may not do this (`EACCES`, `EPERM`), e.g. listen on a port below 1024.
        case permissionDenied
        /// No interface of this host has the address (`EADDRNOTAVAIL`).
        case addressNotAvailable
        /// Anything else; ``SocketErrorDescription/reason`` says what.
        case other
    }

    /// What went wrong.
    public var cause: Cause
    /// The reason as a phrase that completes a sentence: `the address is already in use`, `permission denied`.
    public var reason: String

    /// The reason.
    public var description: String { reason }

    /// Describes an `errno` value, of a socket or of a file alike.
    public init(errno code: Int32) {
        (cause, reason) = Self.words(errno: code)
    }

    /// Describes an error thrown by NIO (connect, bind, read, write) or a system call; other errors keep their own
    /// description, escaped for a log line.
    public init(_ error: any Error) {
        switch error {
        case let error as IOError:
            self.init(errno: error.errnoCode)
        case let error as NIOConnectionError:
            // The connection attempts say more than the lookups (one family may not resolve while the other does).
            if let first = error.connectionErrors.first {
                let all = error.connectionErrors.map { SocketErrorDescription($0.error) }
                self = all.first { $0.cause != .other } ?? SocketErrorDescription(first.error)
            } else if let lookup = error.dnsAError ?? error.dnsAAAAError {
                self.init(lookup)
            } else {
                self.init(cause: .hostNotFound, reason: "the name has no address")
            }
        case let error as SocketAddressError.UnknownHost:
            self.init(cause: .hostNotFound, reason: Self.lookupReason(error.errorCode, error.errorDescription))
        case let error as SocketAddressError:
            switch error {
            case .unsupported:
                self.init(cause: .other, reason: "the address family is not supported")
            case .unixDomainSocketPathTooLong:
                self.init(cause: .other, reason: "the socket path is too long")
            case .failedToParseIPString(let text):
                self.init(cause: .other, reason: "'\(text.loggable)' is not an IP address")
            default:
                self.init(cause: .hostNotFound, reason: "the name does not resolve")
            }
        case let error as ChannelError:
            switch error {
            case .connectTimeout(let amount):
                self.init(
                    cause: .timedOut,
                    reason: "no answer within \(Duration.nanoseconds(amount.nanoseconds).loggable)"
                )
            case .eof, .ioOnClosedChannel, .alreadyClosed, .inputClosed, .outputClosed:
                self.init(cause: .connectionClosed, reason: "the connection is closed")
            default:
                self.init(cause: .other, reason: String(describing: error).loggable)
            }
        default:
            self.init(cause: .other, reason: String(describing: error).loggable)
        }
    }

    /// A description with its cause and reason given.
    public init(cause: Cause, reason: String) {
        self.cause = cause
        self.reason = reason
    }

    /// `cannot listen on 127.0.0.1:8084: the address is already in use`, with a hint where one helps (a port below
    /// 1024, an address no interface has).
    public static func listenFailure(_ error: any Error, on address: String, port: Int? = nil) -> String {
        let description = SocketErrorDescription(error)
        var sentence = "cannot listen on \(address): \(description.reason)"
        switch description.cause {
        case .permissionDenied where (port ?? 1024) < 1024:
            sentence += " (ports below 1024 need root or the CAP_NET_BIND_SERVICE capability)"
        case .addressNotAvailable:
            sentence += " (no network interface of this host has that address)"
        default:
            break
        }
        return sentence
    }

    private static func words(errno code: Int32) -> (Cause, String) {
        switch code {
        case ECONNREFUSED: (.connectionRefused, "the connection was refused")
        case ETIMEDOUT: (.timedOut, "the connection timed out")
        case EHOSTUNREACH: (.hostUnreachable, "no route to the host")
        case ENETUNREACH: (.networkUnreachable, "the network is unreachable")
        case ECONNRESET: (.connectionReset, "the connection was reset by the peer")
        case EPIPE: (.connectionReset, "the peer closed the connection (broken pipe)")
        case ECONNABORTED: (.connectionReset, "the connection was aborted")
        case EADDRINUSE: (.addressInUse, "the address is already in use")
        case EADDRNOTAVAIL: (.addressNotAvailable, "the address is not available")
        case EACCES, EPERM: (.permissionDenied, "permission denied")
        case ENOENT: (.other, "no such file or directory")
        case ENOTDIR: (.other, "a part of the path is not a directory")
        case EISDIR: (.other, "it is a directory")
        case EROFS: (.other, "the file system is read-only")
        case ENOSPC: (.other, "no space left on the device")
        case EDQUOT: (.other, "the disk quota is exhausted")
        case EMFILE, ENFILE: (.other, "too many open files (raise the limit, e.g. systemd's LimitNOFILE=)")
        case EAFNOSUPPORT: (.other, "the address family is not supported (is IPv6 disabled?)")
        default: (.other, Self.systemText(code))
        }
    }

    /// `strerror`'s text with a lower-case first letter and the number, for the values not worded above.
    private static func systemText(_ code: Int32) -> String {
        guard let text = strerror(code).map({ String(cString: $0) }), let first = text.first else {
            return "error \(code)"
        }
        return first.lowercased() + text.dropFirst() + " (errno \(code))"
    }

    private static func lookupReason(_ code: Int, _ text: String) -> String {
        switch Int32(code) {
        case EAI_NONAME: "the name is not known to DNS"
        case EAI_AGAIN: "DNS did not answer (temporary failure in name resolution)"
        case EAI_FAIL: "DNS failed to answer"
        default: text.isEmpty ? "the name does not resolve" : text.lowercased().loggable
        }
    }
}
