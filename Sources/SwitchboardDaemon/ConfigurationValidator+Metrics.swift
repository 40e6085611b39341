import RayoServer
import Switchboard

extension ConfigurationValidator {
    static let metricsKeys = ["bind", "port"]

    /// The `metrics` object, or `nil` when it has problems (all reported).
    mutating func metricsSettings(_ value: JSONValue, at path: String) -> MetricsSettings? {
        guard let members = object(value, at: path, allowedKeys: Self.metricsKeys) else { return nil }
        var settings = MetricsSettings()
        var valid = true
        if members["bind"] != nil {
            if let bind = string(members, "bind", check: Self.checkAddress) {
                settings.bind = bind
            } else {
                valid = false
            }
        }
        if members["port"] != nil {
            if let port = integer(members, "port", in: 0...65_535) { settings.port = port } else { valid = false }
        }
        return valid ? settings : nil
    }

    /// The metrics endpoint must not take the address and port of an outbound listener or a Rayo XMPP listener.
    mutating func checkMetricsPort(
        _ metrics: MetricsSettings,
        against facts: [ListenerFacts],
        rayo: RayoServerConfiguration?
    ) {
        guard metrics.port != 0 else { return }
        func clashes(_ bind: String?, _ port: Int?) -> Bool {
            port == metrics.port
                && (bind == metrics.bind || Self.isWildcard(bind) || Self.isWildcard(metrics.bind))
        }
        let taker: String? =
            if let listener = facts.first(where: { $0.kind == .outbound && clashes($0.bind, $0.port) }) {
                "listeners[\(listener.index)]" + (listener.name.map { " (\(KeyPath.quoted($0)))" } ?? "")
            } else if let index = rayo?.listeners.firstIndex(where: { clashes($0.bind, $0.port) }) {
                "rayo.listen[\(index)]"
            } else {
                nil
            }
        guard let taker else { return }
        report(
            .duplicatePort,
            at: "metrics.port",
            "port \(metrics.port) on \(metrics.bind) is already taken by \(taker)"
        )
    }
}
