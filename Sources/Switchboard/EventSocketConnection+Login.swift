import EventSocket
import NIOCore
import SwitchboardDiagnostics

extension EventSocketConnection {
    /// A promise the read task fulfils when the `auth/request` greeting arrives; it fails when the socket closes
    /// first or nothing arrives within `timeout`.
    ///
    /// - Parameter peer: FreeSWITCH's address as configured, for the error's sentence.
    func makeGreeting(timeout: Duration, peer: String) -> EventLoopPromise<Void> {
        let greeting = channel.eventLoop.makePromise(of: Void.self)
        channel.closeFuture.whenComplete { [shared] _ in
            greeting.fail(
                shared.reason
                    ?? SwitchboardError(
                        .disconnected,
                        "FreeSWITCH at \(peer) closed the connection before its auth/request greeting"
                    )
            )
        }
        let timer = channel.eventLoop.scheduleTask(in: TimeAmount(timeout)) {
            greeting.fail(
                SwitchboardError(
                    .connectTimedOut,
                    "FreeSWITCH at \(peer) accepted the connection but sent no auth/request greeting within "
                        + "\(timeout.loggable): is this FreeSWITCH's event socket?"
                )
            )
        }
        greeting.futureResult.whenComplete { _ in timer.cancel() }
        return greeting
    }

    /// Waits for the greeting, then logs in with `auth` or `userauth`.
    ///
    /// - Throws: ``SwitchboardError/Code/authenticationFailed`` when FreeSWITCH refuses the credentials:
    ///   `FreeSWITCH at 127.0.0.1:8021 refused the login for user esl@127.0.0.1: -ERR invalid`.
    func logIn(
        after greeting: EventLoopPromise<Void>,
        with authentication: InboundConfiguration.Authentication,
        peer: String
    )
        async throws
    {
        try await greeting.futureResult.get()
        let login: EventSocketCommand
        switch authentication {
        case .password(let password):
            login = try .auth(password: password)
        case .user(let user, let domain, let password):
            login = try .userAuth(user: user, domain: domain, password: password)
        }
        let reply: CommandReply
        do {
            reply = try await send(login)
        } catch let error as SwitchboardError where error.code == .disconnected {
            throw SwitchboardError(.disconnected, "FreeSWITCH at \(peer) closed the connection during the login")
        }
        if reply.isError {
            throw SwitchboardError(
                .authenticationFailed,
                "FreeSWITCH at \(peer) refused \(authentication.loggable): \(reply.text.trimmingCharacters(in: "\n").loggable)"
            )
        }
    }
}

extension InboundConfiguration.Authentication {
    /// `the password` or `the login for user esl@127.0.0.1`, for log lines (never the password itself).
    var loggable: String {
        switch self {
        case .password: "the password"
        case .user(let user, let domain, _): "the login for user \(user.loggable)@\(domain.loggable)"
        }
    }
}
