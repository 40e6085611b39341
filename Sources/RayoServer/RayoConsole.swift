import Rayo
import XMPP

/// Answers the admin console's requests (``ConsoleRequest``) with a ``RayoService``.
public struct RayoConsole: ConsoleResponder {
    /// The service the console drives.
    public let service: RayoService
    /// How long `cmd` waits for the reply stanza.
    public var commandTimeout: Duration

    /// Creates a console for `service`.
    public init(service: RayoService, commandTimeout: Duration = .seconds(10)) {
        self.service = service
        self.commandTimeout = commandTimeout
    }

    /// Carries out one request.
    public func respond(to request: ConsoleRequest) async -> ConsoleResponse {
        switch request {
        case .status:
            return ConsoleResponse(lines: Self.describe(service.status, consoleJID: service.consoleJID.description))
        case .command(let to, let xml):
            guard let jid = JID(to) else { return ConsoleResponse(failure: "not a JID: \(to)") }
            let payload: XMLElement
            do {
                payload = try XMLElement.parse(xml, limits: XMLStreamLimits())
            } catch {
                return ConsoleResponse(failure: "the command is not one well-formed XML element: \(error)")
            }
            guard let reply = await service.consoleCommand(to: jid, payload: payload, timeout: commandTimeout) else {
                return ConsoleResponse(failure: "no reply within \(commandTimeout)")
            }
            let failed = reply[attribute: "type"] == "error"
            return ConsoleResponse(lines: [reply.serialized()], failure: failed ? "the command failed" : nil)
        case .message(let to, let text):
            guard let jid = JID(to) else { return ConsoleResponse(failure: "not a JID: \(to)") }
            return service.consoleMessage(to: jid, text: text)
                ? ConsoleResponse() : ConsoleResponse(failure: "no client is connected as \(to)")
        case .presence(let of, let online):
            guard let jid = JID(of), !jid.isBare else {
                return ConsoleResponse(failure: "not a full JID (user@domain/resource): \(of)")
            }
            service.consolePresence(of: jid, online: online)
            return ConsoleResponse()
        }
    }
}

extension RayoConsole {
    /// The `status` lines: the event socket, clients, calls, mixers and components (the console itself left out).
    static func describe(_ status: RayoStatus, consoleJID: String) -> [String] {
        var lines: [String] = []
        lines.append(
            "event socket: \(status.eventSocketUp ? "connected" : "down")\(status.draining ? ", draining" : "")"
        )
        let clients = status.clients.filter { $0.jid != consoleJID }
        lines.append("clients: \(clients.count)")
        for client in clients {
            lines.append("  \(client.jid) \(client.available ? "available" : "unavailable")")
        }
        lines.append("calls: \(status.calls.count)")
        for call in status.calls {
            var line = "  \(call.uuid) \(call.direction) \(call.state)"
            line += " controller=\(call.controller ?? "-")"
            if !call.offeredTo.isEmpty { line += " offered-to=\(call.offeredTo.joined(separator: ","))" }
            if !call.joinedTo.isEmpty { line += " joined=\(call.joinedTo.joined(separator: ","))" }
            lines.append(line)
        }
        lines.append("mixers: \(status.mixers.count)")
        for mixer in status.mixers {
            lines.append("  \(mixer.name) members=\(mixer.members.joined(separator: ","))")
        }
        lines.append("components: \(status.components.count)")
        for component in status.components {
            lines.append("  \(component.jid) \(component.kind) owner=\(component.owner)")
        }
        return lines
    }
}
