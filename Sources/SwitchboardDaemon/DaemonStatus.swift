import NIOConcurrencyHelpers

/// Live counts for systemd's `STATUS=` line and for readiness: which inbound listeners are connected, which have
/// made their first attempt, which outbound listeners are bound.
final class DaemonStatus: Sendable {
    private struct State {
        var inboundConnected: Set<String> = []
        var inboundAttempted: Set<String> = []
        var outboundBound: Set<String> = []
        var rayoListening = false
    }

    private let state = NIOLockedValueBox(State())

    func inbound(_ name: String, connected: Bool) {
        state.withLockedValue { state in
            if connected { state.inboundConnected.insert(name) } else { state.inboundConnected.remove(name) }
        }
    }

    func inboundAttempted(_ name: String) {
        state.withLockedValue { _ = $0.inboundAttempted.insert(name) }
    }

    func outboundBound(_ name: String) {
        state.withLockedValue { _ = $0.outboundBound.insert(name) }
    }

    func rayoListening() {
        state.withLockedValue { $0.rayoListening = true }
    }

    var isRayoListening: Bool { state.withLockedValue { $0.rayoListening } }

    /// systemd's `STATUS=` text: `1/2 inbound connected, 3 outbound sessions; rayo: 2 clients, 5 calls`, each part only
    /// when the daemon has listeners of that kind (no `0/0 inbound connected` without an inbound listener).
    func statusLine(inbound: Set<String>, outboundListeners: Int, outboundSessions: Int, rayo: String?) -> String {
        var parts: [String] = []
        if !inbound.isEmpty {
            let connected = state.withLockedValue { $0.inboundConnected.intersection(inbound).count }
            parts.append("\(connected)/\(inbound.count) inbound connected")
        }
        if outboundListeners > 0 {
            parts.append(outboundSessions == 1 ? "1 outbound session" : "\(outboundSessions) outbound sessions")
        }
        let listeners = parts.joined(separator: ", ")
        guard let rayo else { return listeners.isEmpty ? "no listeners" : listeners }
        return listeners.isEmpty ? rayo : "\(listeners); \(rayo)"
    }

    /// Whether every outbound listener is bound and every inbound listener has made its first attempt.
    func isReady(inbound: Set<String>, outbound: Set<String>) -> Bool {
        state.withLockedValue { inbound.isSubset(of: $0.inboundAttempted) && outbound.isSubset(of: $0.outboundBound) }
    }
}
