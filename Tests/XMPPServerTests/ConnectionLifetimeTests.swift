import NIOConcurrencyHelpers
import Testing
import XMPPTesting

@testable import XMPPServer

@Suite("Connection lifetime")
struct ConnectionLifetimeTests {
    @Test("a closed stream's connection and handler are freed")
    func closedStreamsAreFreed() async throws {
        // Found by the address sanitizer's leak check: the stream handler and its connection held each other, so
        // every XMPP connection stayed in memory after it closed.
        let connections = NIOLockedValueBox<[WeakConnection]>([])
        try await withServer { harness in
            for _ in 0..<3 {
                let client = try await harness.loggedInClient()
                for connection in harness.server.openConnections {
                    connections.withLockedValue { $0.append(WeakConnection(connection)) }
                }
                await client.close()
                try await poll("the connection to close") { harness.server.connectionCount == 0 }
            }
        }
        #expect(connections.withLockedValue { $0.count } == 3)
        try await poll("every closed connection to be freed") {
            connections.withLockedValue { $0.allSatisfy { $0.connection == nil } }
        }
    }

    /// Checks `condition` every 20 ms for up to 10 s.
    private func poll(_ what: String, _ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while !condition() {
            guard ContinuousClock.now < deadline else { throw TestFailure("timed out waiting for \(what)") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}

/// A connection, not kept alive.
private final class WeakConnection: @unchecked Sendable {
    weak var connection: XMPPConnection?
    init(_ connection: XMPPConnection) { self.connection = connection }
}
