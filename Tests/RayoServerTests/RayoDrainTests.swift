import EventSocket
import Logging
import NIOCore
import NIOPosix
import Rayo
import RayoServer
import ServiceLifecycle
import Switchboard
import SwitchboardTesting
import Testing
import XMPP

private let rayo = "urn:xmpp:rayo:1"
private let domain = RayoHarness.domain

@Suite("Rayo service graceful shutdown", .timeLimit(.minutes(1)))
struct RayoDrainTests {
    @Test("graceful shutdown: clients are told unavailable, a controlled call may finish, then the service stops")
    func drainLetsCallsFinish() async throws {
        let fake = try await FakeFreeSWITCH.start()
        fake.answer(api: "show", with: .output(#"{"row_count":0}"#))
        let logger = Logger(label: "rayo-drain-test")
        let service = RayoService(
            settings: RayoSettings(domain: domain),
            eventSocket: InboundConfiguration(port: fake.port),
            drainTime: .seconds(20),
            logger: logger,
            eventLoopGroup: MultiThreadedEventLoopGroup.singleton
        )
        let router = RecordingRouter()
        service.attach(router: router)
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let listener = OutboundListener(
            configuration: OutboundConfiguration(port: 0),
            handler: RayoCallHandler(service: service),
            logger: logger
        ) { portContinuation.yield($0.port ?? 0) }
        let group = ServiceGroup(services: [service], logger: logger)
        let running = Task { try await group.run() }
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await listener.run() }
            var iterator = ports.makeAsyncIterator()
            let port = await iterator.next() ?? 0
            try await waitUntil { service.status.eventSocketUp }
            let client = DirectClient.online("usera@\(domain)/app", service: service, router: router)
            let uuid = UUIDString.random().lowercased()
            let call = Task { try await fake.placeCall(to: port, uuid: uuid) }
            _ = try await client.presence(with: "offer")
            try client.set("a1", to: "\(uuid)@\(domain)", "<answer xmlns='\(rayo)'/>")
            try await fake.waitForCommand("sendmsg \(uuid)")
            fake.emit(.channel("CHANNEL_ANSWER", uuid: uuid))
            _ = try await client.reply(to: "a1")

            await group.triggerGracefulShutdown()
            var unavailable: XMLElement?
            while unavailable == nil {
                let stanza = try await client.next()
                if stanza.name == "presence", stanza[attribute: "from"] == domain { unavailable = stanza }
            }
            #expect(unavailable?[attribute: "type"] == "unavailable")
            #expect(service.status.draining)
            #expect(service.status.calls.count == 1, "the controlled call goes on while draining")

            fake.emit(
                .channel(
                    "CHANNEL_HANGUP_COMPLETE",
                    uuid: uuid,
                    variables: ["hangup_cause_q850": "16"],
                    extra: [("Hangup-Cause", "NORMAL_CLEARING")]
                )
            )
            _ = try await client.presence(with: "end")
            try await running.value
            #expect(try await call.value.saidExit)
            tasks.cancelAll()
        }
        await fake.stop()
    }
}
