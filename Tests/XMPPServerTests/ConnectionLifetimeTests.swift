import SwitchboardTesting
import Testing
import XMPPTesting

@testable import XMPPServer

@Suite("Connection lifetime")
struct ConnectionLifetimeTests {
    @Test("a closed stream's connection and handler are freed")
    func closedStreamsAreFreed() async throws {
        // Found by the address sanitizer's leak check: the stream handler and its connection held each other, so
        // every XMPP connection stayed in memory after it closed.
        let connections = WeakReferences()
        try await withServer { harness in
            for _ in 0..<3 {
                let client = try await harness.loggedInClient()
                for connection in harness.server.openConnections { connections.add(connection) }
                await client.close()
                try await poll("the connection to close") { harness.server.connectionCount == 0 }
            }
        }
        #expect(connections.count == 3)
        try await poll("every closed connection to be freed") { connections.living == 0 }
    }

    @Test("a connection refused at maxConnections is freed with its handler")
    func refusedConnectionsAreFreed() async throws {
        // Found by the address sanitizer's leak check: the refused connection's handler, never added to a pipeline,
        // held its connection (and the connection the handler) for good.
        var limits = XMPPServerConfiguration.Limits()
        limits.maxConnections = 1
        let connections = WeakReferences()
        try await withServer(limits: limits) { harness in
            harness.server.observeConnections { connection in connections.add(connection) }
            let first = try await harness.loggedInClient()
            for _ in 0..<3 {
                let refused = try await harness.client()
                try await refused.waitUntilClosed()
            }
            await first.close()
            try await poll("the connection to close") { harness.server.connectionCount == 0 }
        }
        #expect(connections.count == 4)
        try await poll("every refused and closed connection to be freed") { connections.living == 0 }
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
