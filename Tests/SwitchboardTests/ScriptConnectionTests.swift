import EventSocket
import Switchboard
import SwitchboardTesting
import Testing

/// ``CommandSocket/connect(host:port:authentication:events:customSubclasses:filters:format:options:timeout:eventBufferLimit:logger:eventLoopGroup:)``:
/// one call that connects, logs in and subscribes, or throws at once.
@Suite("One connection for a script")
struct ScriptConnectionTests {
    @Test("right password: filters, then the subscription, then events arrive")
    func rightPassword() async throws {
        let fake = try await FakeFreeSWITCH.start()
        let socket = try await CommandSocket.connect(
            port: fake.port,
            events: ["CHANNEL_HANGUP_COMPLETE"],
            filters: [.init(header: "variable_tenant", value: "acme")],
            logger: testLogger
        )
        #expect(
            fake.commands.map(\.line) == [
                "auth ClueCon", "filter variable_tenant acme", "filter Event-Name BACKGROUND_JOB",
                "event plain CHANNEL_HANGUP_COMPLETE",
            ]
        )
        fake.emit(.channel("CHANNEL_HANGUP_COMPLETE", uuid: "call-1", variables: ["tenant": "acme"]))
        var events = socket.events.makeAsyncIterator()
        let event = await events.next()
        #expect(event?.uniqueID == "call-1")
        #expect(try await socket.api("status").contains("is ready"))
        await socket.close()
        await fake.stop()
    }

    @Test("wrong password: a typed error at once, with FreeSWITCH's reply; no second attempt")
    func wrongPassword() async throws {
        let fake = try await FakeFreeSWITCH.start()
        // "At once" is checked by what happened, not by the clock (a loaded machine can stall any test for seconds):
        // the error carries FreeSWITCH's reply, so the reply ended the attempt (not a timeout), and only one `auth`
        // reached the switch, so there was no second attempt.
        let error = await #expect(throws: SwitchboardError.self) {
            _ = try await CommandSocket.connect(
                port: fake.port,
                authentication: .password("wrong"),
                events: ["ALL"],
                logger: testLogger
            )
        }
        #expect(error?.code == .authenticationFailed)
        #expect(error?.message == "FreeSWITCH at 127.0.0.1:\(fake.port) refused the password: -ERR invalid")
        #expect(fake.commands.map(\.line) == ["auth wrong"])
        await fake.stop()
    }

    @Test("wrong userauth: the user is named, never the password")
    func wrongUser() async throws {
        let fake = try await FakeFreeSWITCH.start(options: .init(users: ["esl@127.0.0.1": "esl-secret"]))
        let error = await #expect(throws: SwitchboardError.self) {
            _ = try await CommandSocket.connect(
                port: fake.port,
                authentication: .user("esl", domain: "127.0.0.1", password: "nope"),
                logger: testLogger
            )
        }
        #expect(error?.code == .authenticationFailed)
        #expect(
            error?.message
                == "FreeSWITCH at 127.0.0.1:\(fake.port) refused the login for user esl@127.0.0.1: -ERR invalid"
        )
        await fake.stop()
    }

    @Test("nothing listening: connectionRefused, naming the address")
    func nothingListening() async throws {
        let down = try RefusingPort()
        let port = down.port
        let error = await #expect(throws: SwitchboardError.self) {
            _ = try await CommandSocket.connect(port: port, logger: testLogger)
        }
        #expect(error?.code == .connectionRefused)
        #expect(error?.message == "FreeSWITCH at 127.0.0.1:\(port) refused the connection")
    }

    @Test("no answer to the connect: connectTimedOut, naming the timeout")
    func timeout() async throws {
        let silent = try UnansweredPort()
        let error = await #expect(throws: SwitchboardError.self) {
            _ = try await CommandSocket.connect(port: silent.port, timeout: .milliseconds(300), logger: testLogger)
        }
        #expect(error?.code == .connectTimedOut)
        #expect(error?.message == "FreeSWITCH at 127.0.0.1:\(silent.port) did not answer within 300 ms")
    }

    @Test("a name that does not resolve: hostNotFound")
    func unknownHost() async throws {
        let error = await #expect(throws: SwitchboardError.self) {
            _ = try await CommandSocket.connect(host: "does-not-exist.invalid", logger: testLogger)
        }
        #expect(error?.code == .hostNotFound)
        #expect(
            error?.message == "FreeSWITCH at does-not-exist.invalid:8021 cannot be found: the name is not known to DNS"
        )
    }

    @Test("a subscription that cannot be sent throws; nothing is left subscribed")
    func refusedSubscription() async throws {
        let fake = try await FakeFreeSWITCH.start()
        let error = await #expect(throws: EventSocketError.self) {
            _ = try await CommandSocket.connect(port: fake.port, events: ["CHANNEL ANSWER"], logger: testLogger)
        }
        #expect(error?.code == .invalidCommand)
        #expect(fake.commands.map(\.line) == ["auth ClueCon"])
        #expect(await fake.subscribedConnections == 0)
        await fake.stop()
    }
}
