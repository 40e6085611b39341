import EventSocket
import NIOCore

extension EventSocketConnection {
    /// A promise the read task fulfils when the `auth/request` greeting arrives; it fails when the socket closes
    /// first or nothing arrives within `timeout`.
    func makeGreeting(timeout: Duration) -> EventLoopPromise<Void> {
        let greeting = channel.eventLoop.makePromise(of: Void.self)
        channel.closeFuture.whenComplete { _ in
            greeting.fail(SwitchboardError(.disconnected, "FreeSWITCH closed the socket before sending auth/request"))
        }
        let timer = channel.eventLoop.scheduleTask(in: TimeAmount(timeout)) {
            greeting.fail(SwitchboardError(.protocolViolation, "no auth/request greeting within \(timeout)"))
        }
        greeting.futureResult.whenComplete { _ in timer.cancel() }
        return greeting
    }

    /// Waits for the greeting, then logs in with `auth` or `userauth`.
    ///
    /// - Throws: ``SwitchboardError/Code/authenticationFailed`` when FreeSWITCH refuses the credentials.
    func logIn(
        after greeting: EventLoopPromise<Void>,
        with authentication: InboundConfiguration.Authentication
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
        let reply = try await send(login)
        if reply.isError {
            throw SwitchboardError(.authenticationFailed, "FreeSWITCH refused the login: \(reply.message)")
        }
    }
}
