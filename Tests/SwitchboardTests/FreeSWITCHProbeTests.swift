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

    @Test("an address that is not IPv4 text is no answer, not a crash")
    func badAddress() {
        #expect(!FreeSWITCHProbe.answers(host: "not-an-address", port: 8021, timeout: .milliseconds(10)))
    }
}
