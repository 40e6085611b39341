import Switchboard
import SwitchboardTesting
import Testing

@Suite("FreeSWITCHProbe")
struct FreeSWITCHProbeTests {
    @Test("answers while a switch listens on the port, and not once it has stopped")
    func answersOnlyWhileListening() async throws {
        let fake = try await FakeFreeSWITCH.start()
        let port = UInt16(fake.port)
        #expect(FreeSWITCHProbe.answers(port: port, timeout: .seconds(2)))
        await fake.stop()
        #expect(!FreeSWITCHProbe.answers(port: port, timeout: .milliseconds(200)))
    }

    @Test("a name that does not resolve is no answer, not a crash")
    func badAddress() {
        #expect(!FreeSWITCHProbe.answers(host: "does-not-exist.invalid", port: 8021, timeout: .milliseconds(10)))
    }

    @Test("IPv6 and host names are probed too")
    func ipv6AndNames() async throws {
        let fake = try await FakeFreeSWITCH.start()
        #expect(FreeSWITCHProbe.answers(host: "localhost", port: UInt16(fake.port), timeout: .seconds(2)))
        #expect(!FreeSWITCHProbe.answers(host: "::1", port: UInt16(fake.port), timeout: .milliseconds(200)))
        await fake.stop()
    }
}

@Suite("TestSwitch: the real FreeSWITCH the environment names")
struct TestSwitchTests {
    @Test("the defaults are a stock switch on this host, called back on 127.0.0.1")
    func defaults() {
        let testSwitch = TestSwitch(environment: [:])
        #expect(testSwitch.address == "127.0.0.1:8021")
        #expect(testSwitch.authentication == .password("ClueCon"))
        #expect(testSwitch.userAuthentication == .user("esl", domain: "127.0.0.1", password: "esl-secret"))
        #expect(testSwitch.listenHost == "127.0.0.1")
        #expect(testSwitch.outboundDestination(port: 9084) == "loopback/outbound_9084/peertest")
        #expect(testSwitch.outboundDestination(port: 9084, asyncFull: false) == "loopback/outbound_sync_9084/peertest")
        #expect(
            testSwitch.skipReason
                == "no FreeSWITCH answers on 127.0.0.1:8021 (set SWITCHBOARD_TEST_FREESWITCH_HOST, "
                + "SWITCHBOARD_TEST_FREESWITCH_PORT, SWITCHBOARD_TEST_FREESWITCH_PASSWORD to use another)"
        )
    }

    @Test("the variables name another switch, another password, no userauth user, and where to call back")
    func fromTheEnvironment() {
        let testSwitch = TestSwitch(
            environment: [
                "SWITCHBOARD_TEST_FREESWITCH_HOST": "fd00::5",
                "SWITCHBOARD_TEST_FREESWITCH_PORT": "18021",
                "SWITCHBOARD_TEST_FREESWITCH_PASSWORD": "s3cret",
                "SWITCHBOARD_TEST_FREESWITCH_USER": "",
                "SWITCHBOARD_TEST_CALLBACK_HOST": "192.0.2.2",
            ]
        )
        #expect(testSwitch.address == "[fd00::5]:18021")
        #expect(testSwitch.authentication == .password("s3cret"))
        #expect(testSwitch.userAuthentication == nil)
        #expect(testSwitch.listenHost == "0.0.0.0")
        #expect(testSwitch.outboundExtension(port: 9084) == "outbound_9084_192.0.2.2")
        #expect(testSwitch.outboundDestination(port: 9084) == "loopback/outbound_9084_192.0.2.2/peertest")
        #expect(testSwitch.skipReason.hasPrefix("no FreeSWITCH answers on [fd00::5]:18021 (set "))
    }

    @Test("a port that is not a port keeps the default")
    func badPort() {
        #expect(TestSwitch(environment: ["SWITCHBOARD_TEST_FREESWITCH_PORT": "99999"]).port == 8021)
        #expect(TestSwitch(environment: ["SWITCHBOARD_TEST_FREESWITCH_PORT": "x"]).port == 8021)
    }
}
