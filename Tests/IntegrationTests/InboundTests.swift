import EventSocket
import Switchboard
import SwitchboardTesting
import Synchronization
import Testing

/// Inbound connections to the real FreeSWITCH: login, api and bgapi, subscriptions, filters, CUSTOM events.
@Suite(
    .enabled(if: FreeSWITCHAvailability.isUp, FreeSWITCHAvailability.skipReason),
    .timeLimit(.minutes(1))
)
struct InboundTests {
    // MARK: - Login

    @Test func passwordLoginRunsStatus() async throws {
        let status = try await Integration.withCommandSocket { socket in try await socket.api("status") }
        #expect(status.contains("is ready"))
    }

    @Test func wrongPasswordThrowsAuthenticationFailed() async throws {
        let error = await #expect(throws: SwitchboardError.self) {
            _ = try await Integration.connect(authentication: .password("wrong-\(Integration.uniqueTag())"))
        }
        #expect(error?.code == .authenticationFailed)
    }

    @Test(
        .enabled(
            if: TestSwitch.current.userAuthentication != nil,
            "\(TestSwitch.userVariable) is empty: no directory user to log in as"
        )
    )
    func userAuthRunsAllowedCommandsAndIsRefusedOthers() async throws {
        let user = try #require(TestSwitch.current.userAuthentication)
        try await Integration.withCommandSocket(authentication: user) { socket in
            let status = try await socket.api("status")
            #expect(status.contains("is ready"))

            // FreeSWITCH answers a denied api with a command/reply `-ERR permission denied`, not an api/response.
            let error = await #expect(throws: EventSocketError.self) { _ = try await socket.api("reloadxml") }
            #expect(error?.code == .commandFailed)
            #expect(error?.message.contains("permission denied") == true)

            // The socket is still usable after the refusal: replies stay matched to their commands.
            #expect(try await socket.api("version").contains("FreeSWITCH Version"))
        }
    }

    // MARK: - api

    @Test func apiErrorsThrowCommandFailed() async throws {
        try await Integration.withCommandSocket { socket in
            let unknown = await #expect(throws: EventSocketError.self) { _ = try await socket.api("no_such_command") }
            #expect(unknown?.code == .commandFailed)
            #expect(unknown?.message.contains("Command not found") == true)

            let noChannel = await #expect(throws: EventSocketError.self) {
                _ = try await socket.api("uuid_kill", Integration.newUUID())
            }
            #expect(noChannel?.code == .commandFailed)
            #expect(noChannel?.message.contains("No such channel") == true)
        }
    }

    @Test func apiOutputWithColonsAndManyLinesComesBackIntact() async throws {
        try await Integration.withCommandSocket { socket in
            // An api body that looks like headers must stay a body (a known defect of other libraries).
            let echoed = try await socket.api("echo", "Header-Like: value with: colons")
            #expect(echoed == "Header-Like: value with: colons")

            let modules = try await socket.api("show", "modules")
            let lines = modules.split(separator: "\n")
            #expect(lines.first == "type,name,ikey,filename")
            #expect(lines.count > 10)
            #expect(modules.contains("mod_event_socket"))

            let status = try await socket.api("status")
            let statusLines = status.split(separator: "\n")
            #expect(statusLines.first?.hasPrefix("UP ") == true)
            #expect(statusLines.contains { $0.hasSuffix("is ready") })
            #expect(statusLines.count >= 5)
        }
    }

    // MARK: - bgapi

    @Test func concurrentBackgroundJobsEachGetTheirOwnResult() async throws {
        try await Integration.withCommandSocket { socket in
            async let slow = socket.backgroundAPI("msleep", "800", timeout: .seconds(20))
            async let fast = socket.backgroundAPI("msleep", "200", timeout: .seconds(20))
            async let version = socket.backgroundAPI("version", timeout: .seconds(20))
            async let status = socket.backgroundAPI("status", timeout: .seconds(20))
            async let failing: Result<String, any Error> = {
                do {
                    return .success(try await socket.backgroundAPI("no_such_command", timeout: .seconds(20)))
                } catch {
                    return .failure(error)
                }
            }()

            // msleep's BACKGROUND_JOB body is `+OK` without a newline.
            #expect(try await slow == "+OK")
            #expect(try await fast == "+OK")
            #expect(try await version.contains("FreeSWITCH Version"))
            #expect(try await status.contains("is ready"))
            switch await failing {
            case .success(let output):
                Issue.record("bgapi no_such_command returned \(output)")
            case .failure(let error):
                let failure = try #require(error as? EventSocketError)
                #expect(failure.code == .commandFailed)
                #expect(failure.message.contains("Command not found"))
            }
        }
    }

    // MARK: - Events

    @Test(arguments: [EventSocketEvent.Format.plain, .json])
    func channelEventsOfOwnCallArriveInOrderThroughTheFilter(format: EventSocketEvent.Format) async throws {
        let tag = Integration.uniqueTag()
        let uuid = Integration.newUUID()
        let setUpDone = Flag()
        let recorder = Recorder<ReceivedEvent>()
        var hooks = EventHooks()
        hooks.onAnyEvent { event, _ in
            await recorder.record(ReceivedEvent(event: event, afterSetUp: setUpDone.isSet))
        }
        let configuration = InboundConfiguration(
            host: FreeSWITCHAvailability.host,
            port: FreeSWITCHAvailability.port,
            authentication: TestSwitch.current.authentication,
            events: ["CHANNEL_CREATE", "CHANNEL_ANSWER", "CHANNEL_HANGUP_COMPLETE"],
            format: format,
            filters: [.init(header: "variable_\(Integration.tagVariable)", value: tag)]
        )
        let listener = InboundListener(
            configuration: configuration,
            hooks: hooks,
            logger: Integration.logger
        ) { status in
            if status == .connected { setUpDone.set() }
        }

        do {
            try await Integration.withRunning(listener) {
                try await Integration.eventually("the inbound listener to log in") { listener.connection != nil }
                let connection = try #require(listener.connection)
                // `tone` answers, beeps four times and hangs up; the loopback pair then ends by itself.
                if format == .plain {
                    let output = try await Integration.withCommandSocket { socket in
                        try await socket.backgroundAPI(
                            "originate",
                            Integration.callVariables(uuid: uuid, tag: tag) + TestSwitch.current.destination("tone")
                                + " &park()",
                            timeout: .seconds(20)
                        )
                    }
                    #expect(output == "+OK \(uuid)\n")
                } else {
                    // The listener's own connection: its filters must still let BACKGROUND_JOB through.
                    var call = Originate(TestSwitch.current.destination("tone"), then: .application("park"))
                        .variable("origination_uuid", uuid)
                        .variable(Integration.tagVariable, tag)
                    call.timeout = .seconds(10)
                    #expect(try await connection.originate(call) == uuid)
                }
                try await recorder.wait(for: "CHANNEL_HANGUP_COMPLETE of \(uuid)") { received in
                    received.contains { $0.event.name == "CHANNEL_HANGUP_COMPLETE" && $0.event.uniqueID == uuid }
                }
            }
        } catch {
            await Integration.hangUpOwnCalls(tag: tag, uuids: [uuid])
            throw error
        }
        await Integration.hangUpOwnCalls(tag: tag, uuids: [uuid])

        let received = await recorder.values
        let events = received.map(\.event)
        let ownLeg = events.filter { $0.uniqueID == uuid }.map(\.name)
        #expect(ownLeg == ["CHANNEL_CREATE", "CHANNEL_ANSWER", "CHANNEL_HANGUP_COMPLETE"])
        for event in events {
            #expect(event.format == format)
            #expect(["CHANNEL_CREATE", "CHANNEL_ANSWER", "CHANNEL_HANGUP_COMPLETE"].contains(event.name))
        }
        for entry in received where entry.event.variable(Integration.tagVariable) != tag {
            let description =
                "\(entry.event.name) of \(entry.event.uniqueID ?? "-") tagged "
                + "\(entry.event.variable(Integration.tagVariable) ?? "-") passed the filter"
            // Filters are sent before the subscription, so not even an event during set-up may slip through.
            Issue.record("\(description)\(entry.afterSetUp ? " after" : " during") the listener's set-up")
        }
        let hangup = try #require(events.first { $0.name == "CHANNEL_HANGUP_COMPLETE" && $0.uniqueID == uuid })
        #expect(hangup["Hangup-Cause"] == "NORMAL_CLEARING")
    }

    @Test(arguments: [EventSocketEvent.Format.plain, .json])
    func customEventKeepsItsHeaderAndBody(format: EventSocketEvent.Format) async throws {
        let subclass = "switchboard::test_\(Integration.uniqueTag())"
        let recorder = Recorder<EventSocketEvent>()
        var hooks = EventHooks()
        hooks.on(subclass: subclass) { event, _ in await recorder.record(event) }
        let configuration = InboundConfiguration(
            host: FreeSWITCHAvailability.host,
            port: FreeSWITCHAvailability.port,
            authentication: TestSwitch.current.authentication,
            events: [],
            customSubclasses: [subclass],
            format: format
        )
        let listener = InboundListener(configuration: configuration, hooks: hooks, logger: Integration.logger)

        let (sentUUID, events) = try await Integration.withRunning(listener) {
            try await Integration.eventually("the inbound listener to log in") { listener.connection != nil }
            let sentUUID = try await Integration.withCommandSocket { socket in
                try await socket.connection.sendEvent(
                    "CUSTOM",
                    headers: ["Event-Subclass": subclass, "X-Value": "a b:c"],
                    body: "line1\nline2"
                )
            }
            let events = try await recorder.wait(for: "the CUSTOM event \(subclass)") { !$0.isEmpty }
            return (sentUUID, events)
        }

        #expect(events.count == 1)
        let event = try #require(events.first)
        #expect(event.format == format)
        #expect(event.name == "CUSTOM")
        #expect(event.subclass == subclass)
        #expect(event["X-Value"] == "a b:c")
        #expect(event.body == "line1\nline2")
        #expect(event["Event-UUID"] == sentUUID)
    }
}

/// An event as a hook saw it, and whether the listener had finished its set-up (login, subscription, filters).
struct ReceivedEvent: Sendable {
    var event: EventSocketEvent
    var afterSetUp: Bool
}

/// A flag that is set once, from any thread.
final class Flag: Sendable {
    private let value = Atomic<Bool>(false)

    var isSet: Bool { value.load(ordering: .acquiring) }

    func set() { value.store(true, ordering: .releasing) }
}
