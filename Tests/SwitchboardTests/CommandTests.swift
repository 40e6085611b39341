import EventSocket
import NIOCore
import Switchboard
import SwitchboardTesting
import TestSupport
import Testing

@Suite("Commands, api and bgapi over a real socket")
struct CommandTests {
    @Test("api returns the body; an -ERR body throws commandFailed; output with colons and blank lines is intact")
    func api() async throws {
        let fake = try await FakeFreeSWITCH.start()
        let output = "Name: value\n\nno colon here\nlast: line\n"
        fake.answer(api: "show", with: .output(output))
        let socket = try await CommandSocket.connect(port: fake.port, logger: testLogger)
        #expect(try await socket.api("show", "channels") == output)
        await #expect {
            _ = try await socket.api("no_such_command")
        } throws: { error in
            let failure = error as? EventSocketError
            return failure?.code == .commandFailed && failure?.message.contains("Command not found") == true
        }
        await socket.close()
        await fake.stop()
    }

    @Test("tasks on the socket's executor run on its event loop; each of their concurrent commands gets its reply")
    func commandsFromTheEventLoop() async throws {
        let fake = try await FakeFreeSWITCH.start()
        let socket = try await CommandSocket.connect(port: fake.port, logger: testLogger)
        let loop = socket.connection.channel.eventLoop
        let outputs = try await withTaskExecutorPreference(socket.executor) {
            #expect(loop.inEventLoop)
            #expect(try await socket.api("status").contains("is ready"))
            #expect(loop.inEventLoop)
            // Child tasks inherit the preference; their commands interleave on the one connection.
            return try await withThrowingTaskGroup(of: (Int, String).self) { group in
                for index in 0..<50 {
                    group.addTask {
                        #expect(loop.inEventLoop)
                        return (index, try await socket.api("echo", "call \(index)"))
                    }
                }
                return try await group.reduce(into: [Int: String]()) { $0[$1.0] = $1.1 }
            }
        }
        #expect(outputs == Dictionary(uniqueKeysWithValues: (0..<50).map { ($0, "call \($0)") }))
        #expect(!loop.inEventLoop)
        await socket.close()
        await fake.stop()
    }

    @Test("a command that times out fails alone; the next command still gets its own reply")
    func commandTimeout() async throws {
        let fake = try await FakeFreeSWITCH.start()
        fake.answer(api: "slow", with: .delayed("slow result\n", .milliseconds(400)))
        let socket = try await CommandSocket.connect(port: fake.port, logger: testLogger)
        await #expect {
            _ = try await socket.api("slow", timeout: .milliseconds(100))
        } throws: { error in
            (error as? SwitchboardError)?.code == .commandTimedOut
        }
        // The late "slow result" reply arrives first and must be dropped, not handed to this command.
        let status = try await socket.api("status")
        #expect(status.contains("is ready"))
        #expect(try await socket.api("version").contains("1.10.12"))
        await socket.close()
        await fake.stop()
    }

    @Test("a short timeout behind a long one fires on its own deadline, not the earlier command's")
    func shortTimeoutBehindLongOne() async throws {
        let fake = try await FakeFreeSWITCH.start()
        // The slow reply holds the status reply back; longer under a sanitizer, whose stalls of the event loop could
        // otherwise bring both replies in one read before the 150 ms timer runs.
        fake.answer(api: "slow", with: .delayed("slow result\n", TestTime.scaled(.seconds(2))))
        let socket = try await CommandSocket.connect(port: fake.port, logger: testLogger)
        let slow = Task { try await socket.api("slow", timeout: .seconds(30)) }
        try await fake.waitForCommand("api slow")
        // The connection's one timer is armed for the slow command's 30 s; this deadline is earlier and must win.
        await #expect {
            _ = try await socket.api("status", timeout: .milliseconds(150))
        } throws: { error in
            let failure = error as? SwitchboardError
            return failure?.code == .commandTimedOut && failure?.message.contains("api status") == true
        }
        // Had the timer stayed on the 30 s deadline, the status reply (held back behind the slow one) would have
        // arrived in time and the call above would have succeeded. The slow reply still goes to its own command; the
        // late status reply after it is dropped.
        #expect(try await slow.value == "slow result\n")
        #expect(try await socket.api("version").contains("1.10.12"))
        await socket.close()
        await fake.stop()
    }

    @Test("a bgapi job that outlives its timeout fails with commandTimedOut; the socket goes on working")
    func backgroundJobTimeout() async throws {
        let fake = try await FakeFreeSWITCH.start()
        fake.answer(api: "long", with: .delayed("never in time\n", .seconds(30)))
        fake.answer(api: "quick", with: .delayed("+OK quick\n", .milliseconds(10)))
        let socket = try await CommandSocket.connect(port: fake.port, logger: testLogger)
        await #expect {
            _ = try await socket.backgroundAPI("long", timeout: .milliseconds(200))
        } throws: { error in
            let failure = error as? SwitchboardError
            return failure?.code == .commandTimedOut && failure?.message.contains("bgapi long") == true
        }
        // A job that completes in time is not failed later by its own (cancelled) timer. The timeout leaves a
        // loaded machine (the whole suite under the thread sanitizer stalls event loops for seconds) room for the
        // 10 ms job; the sleep outlasts it, so a timer left armed would fire.
        let timeout = TestTime.scaled(.seconds(5))
        #expect(try await socket.backgroundAPI("quick", timeout: timeout) == "+OK quick\n")
        try await Task.sleep(for: timeout + .milliseconds(200))
        #expect(try await socket.api("status").contains("is ready"))
        await socket.close()
        await fake.stop()
    }

    @Test("a peer that disappears mid-command fails every pending command and job with disconnected")
    func disconnectMidCommand() async throws {
        let fake = try await FakeFreeSWITCH.start()
        fake.answer(api: "vanish", with: .disconnect)
        fake.answer(api: "long", with: .delayed("never\n", .seconds(30)))
        let socket = try await CommandSocket.connect(port: fake.port, logger: testLogger)
        let job = Task { try await socket.backgroundAPI("long") }
        try await fake.waitForCommand("bgapi long")
        await #expect {
            _ = try await socket.api("vanish")
        } throws: { error in
            (error as? SwitchboardError)?.code == .disconnected
        }
        await #expect {
            _ = try await job.value
        } throws: { error in
            (error as? SwitchboardError)?.code == .disconnected
        }
        // A command after the close fails at once rather than hanging.
        await #expect {
            _ = try await socket.api("status")
        } throws: { error in
            (error as? SwitchboardError)?.code == .disconnected
        }
        await socket.close()
        await fake.stop()
    }

    @Test("concurrent bgapi jobs complete out of order, each with its own Job-UUID's result")
    func concurrentBackgroundJobs() async throws {
        let fake = try await FakeFreeSWITCH.start()
        let socket = try await CommandSocket.connect(port: fake.port, logger: testLogger)
        async let slow = socket.backgroundAPI("msleep", "300")
        async let fast = socket.backgroundAPI("msleep", "50")
        async let version = socket.backgroundAPI("version")
        async let echo = socket.backgroundAPI("echo", "hello: world")
        let failing = Task { try await socket.backgroundAPI("no_such_command") }
        #expect(try await slow == "+OK\n")
        #expect(try await fast == "+OK\n")
        #expect(try await version.contains("1.10.12"))
        #expect(try await echo == "hello: world")
        await #expect(throws: EventSocketError.self) { try await failing.value }
        let lines = fake.commands.map(\.line)
        #expect(lines.contains("event plain BACKGROUND_JOB"))
        #expect(fake.commands.filter { $0.verb == "bgapi" }.allSatisfy { $0.headers["Job-UUID"] != nil })
        await socket.close()
        await fake.stop()
    }

    @Test("originate builds FreeSWITCH's argument string and returns the new channel's UUID")
    func originate() async throws {
        let fake = try await FakeFreeSWITCH.start()
        let socket = try await CommandSocket.connect(port: fake.port, logger: testLogger)
        let call = Originate("loopback/9999/default", then: .application("park"))
            .variable("origination_uuid", "11111111-2222-4333-8444-555555555555")
            .variable("codecs", "PCMU,PCMA")
        let uuid = try await socket.connection.originate(call)
        #expect(uuid == "11111111-2222-4333-8444-555555555555")
        let sent = try #require(fake.commands.first { $0.verb == "bgapi" })
        #expect(
            sent.line
                == #"bgapi originate {codecs=PCMU\\,PCMA,origination_uuid=11111111-2222-4333-8444-555555555555}"#
                + "loopback/9999/default &park()"
        )
        await socket.close()
        await fake.stop()
    }

    @Test("a failed originate throws OriginateError with the call's UUID and the hangup cause")
    func originateFailure() async throws {
        let fake = try await FakeFreeSWITCH.start()
        fake.answer(api: "originate", with: .output("-ERR USER_BUSY\n"))
        let socket = try await CommandSocket.connect(port: fake.port, logger: testLogger)
        let call = Originate("sofia/gateway/carrier/15551234567", then: .application("park"))
            .variable("origination_uuid", "11111111-2222-4333-8444-555555555555")
        await #expect {
            try await socket.connection.originate(call)
        } throws: { error in
            error as? OriginateError
                == OriginateError(
                    uuid: "11111111-2222-4333-8444-555555555555",
                    hangupCause: "USER_BUSY",
                    message: "-ERR USER_BUSY"
                )
        }
        await socket.close()
        await fake.stop()
    }

    @Test("the command socket keeps events that arrive meanwhile")
    func commandSocketKeepsEvents() async throws {
        let fake = try await FakeFreeSWITCH.start()
        let socket = try await CommandSocket.connect(port: fake.port, logger: testLogger)
        try await socket.connection.subscribe(to: ["CHANNEL_CREATE"])
        fake.emit(.channel("CHANNEL_CREATE", uuid: "kept-1"))
        _ = try await socket.api("status")
        fake.emit(.channel("CHANNEL_CREATE", uuid: "kept-2"))
        _ = try await socket.api("status")
        var iterator = socket.events.makeAsyncIterator()
        #expect(await iterator.next()?.uniqueID == "kept-1")
        #expect(await iterator.next()?.uniqueID == "kept-2")
        await socket.close()
        await fake.stop()
    }

    @Test("unread command socket events stop at the buffer limit; the rest are counted, not kept")
    func commandSocketEventBufferIsBounded() async throws {
        let fake = try await FakeFreeSWITCH.start()
        let socket = try await CommandSocket.connect(port: fake.port, eventBufferLimit: 3, logger: testLogger)
        try await socket.connection.subscribe(to: ["CHANNEL_CREATE"])
        for index in 1...5 { fake.emit(.channel("CHANNEL_CREATE", uuid: "event-\(index)")) }
        try await eventually("two events dropped") { socket.droppedEvents == 2 }
        // The reply to this api comes after the five events: nothing else is dropped meanwhile.
        _ = try await socket.api("status")
        await socket.close()
        #expect(socket.droppedEvents == 2)
        var kept: [String] = []
        for await event in socket.events { kept.append(event.uniqueID ?? "") }
        #expect(kept == ["event-1", "event-2", "event-3"])
        await fake.stop()
    }
}
