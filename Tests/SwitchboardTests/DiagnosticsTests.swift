import NIOCore
import NIOPosix
import SwitchboardDiagnostics
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("Text for operators: escaping, addresses, durations, errors in words")
struct DiagnosticsTests {
    @Test(
        "wire text cannot break or forge a log line",
        arguments: [
            ("The system is being shut down.\n", "The system is being shut down.\\n"),
            ("a\r\n2026-11-28T00:00:00.000Z error forged", "a\\r\\n2026-11-28T00:00:00.000Z error forged"),
            ("tab\there", "tab\\there"),
            ("\u{1B}[31mred", "\\u{1b}[31mred"),
            ("line\u{2028}separator\u{85}next", "line\\u{2028}separator\\u{85}next"),
            ("Zoë 😀 plain", "Zoë 😀 plain"),
        ]
    )
    func escaping(text: String, expected: String) {
        #expect(text.loggable == expected)
        #expect(text.needsLogEscaping == (text != expected))
    }

    @Test("long wire text is cut with an ellipsis")
    func cut() {
        #expect(String(repeating: "x", count: 300).loggable == String(repeating: "x", count: 200) + "…")
        #expect("abcdef".loggable(limit: 3) == "abc…")
        #expect("abc".loggable(limit: 3) == "abc")
    }

    @Test("addresses print as host:port, IPv6 in brackets, never NIO's [IPv4]127.0.0.1/127.0.0.1:8021")
    func addresses() throws {
        #expect(try SocketAddress(ipAddress: "127.0.0.1", port: 8021).loggable == "127.0.0.1:8021")
        #expect(try SocketAddress(ipAddress: "::1", port: 8021).loggable == "[::1]:8021")
        #expect(
            try SocketAddress(unixDomainSocketPath: "/run/switchboard/rayo.sock").loggable
                == "/run/switchboard/rayo.sock"
        )
        #expect(SocketAddress.loggable(host: "127.0.0.1", port: 8021) == "127.0.0.1:8021")
        #expect(SocketAddress.loggable(host: "::1", port: 8021) == "[::1]:8021")
        #expect(SocketAddress.loggable(host: "fs.example.net", port: 8021) == "fs.example.net:8021")
        #expect(LoggablePeer(address: nil).description == "?")
    }

    @Test(
        "durations read as an operator writes them",
        arguments: [
            (Duration.milliseconds(250), "250 ms"), (.milliseconds(500), "500 ms"), (.milliseconds(7_900), "7.9 s"),
            (.milliseconds(7_949), "7.9 s"), (.seconds(30), "30 s"), (.milliseconds(59_960), "1 min"),
            (.seconds(134), "2 min 14 s"), (.seconds(120), "2 min"), (.seconds(3_900), "1 h 5 min"),
            (.seconds(7_200), "2 h"),
        ]
    )
    func durations(duration: Duration, expected: String) {
        #expect(duration.loggable == expected)
    }

    @Test(
        "errno values in words, with their cause",
        arguments: [
            (EADDRINUSE, SocketErrorDescription.Cause.addressInUse, "the address is already in use"),
            (EADDRNOTAVAIL, .addressNotAvailable, "the address is not available"),
            (EACCES, .permissionDenied, "permission denied"),
            (ECONNREFUSED, .connectionRefused, "the connection was refused"),
            (ETIMEDOUT, .timedOut, "the connection timed out"),
            (EHOSTUNREACH, .hostUnreachable, "no route to the host"),
            (ENETUNREACH, .networkUnreachable, "the network is unreachable"),
            (ECONNRESET, .connectionReset, "the connection was reset by the peer"),
            (ENOENT, .other, "no such file or directory"),
            (EROFS, .other, "the file system is read-only"),
            (E2BIG, .other, "argument list too long (errno 7)"),
        ]
    )
    func errnoWords(code: Int32, cause: SocketErrorDescription.Cause, reason: String) {
        let description = SocketErrorDescription(errno: code)
        #expect(description.cause == cause)
        #expect(description.reason == reason)
        #expect(SocketErrorDescription(IOError(errnoCode: code, reason: "bind(descriptor:ptr:bytes:)")) == description)
    }

    @Test("NIO's errors in words: a connect timeout, a closed channel, anything else escaped")
    func nioErrors() {
        #expect(
            SocketErrorDescription(ChannelError.connectTimeout(.milliseconds(300)))
                == SocketErrorDescription(cause: .timedOut, reason: "no answer within 300 ms")
        )
        #expect(SocketErrorDescription(ChannelError.ioOnClosedChannel).cause == .connectionClosed)
        #expect(SocketErrorDescription(SocketAddressError.unsupported).reason == "the address family is not supported")
        struct Odd: Error, CustomStringConvertible { var description: String { "two\nlines" } }
        #expect(SocketErrorDescription(Odd()) == SocketErrorDescription(cause: .other, reason: "two\\nlines"))
    }

    @Test("listen failures name the address and, where it helps, what to do")
    func listenFailures() {
        let busy = IOError(errnoCode: EADDRINUSE, reason: "bind(descriptor:ptr:bytes:)")
        #expect(
            SocketErrorDescription.listenFailure(busy, on: "127.0.0.1:8084", port: 8084)
                == "cannot listen on 127.0.0.1:8084: the address is already in use"
        )
        let denied = IOError(errnoCode: EACCES, reason: "bind(descriptor:ptr:bytes:)")
        #expect(
            SocketErrorDescription.listenFailure(denied, on: "0.0.0.0:84", port: 84)
                == "cannot listen on 0.0.0.0:84: permission denied "
                + "(ports below 1024 need root or the CAP_NET_BIND_SERVICE capability)"
        )
        #expect(
            SocketErrorDescription.listenFailure(denied, on: "/run/switchboard/rayo.sock")
                == "cannot listen on /run/switchboard/rayo.sock: permission denied"
        )
    }

    @Test("a name that does not resolve is a lookup failure in words, over NIO's real resolver")
    func unknownHost() async throws {
        let error = await #expect(throws: (any Error).self) {
            _ = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.seconds(5))
                .connect(host: "does-not-exist.invalid", port: 8021).get()
        }
        let description = try SocketErrorDescription(#require(error))
        #expect(description == SocketErrorDescription(cause: .hostNotFound, reason: "the name is not known to DNS"))
    }
}
