import EventSocket
import Foundation
import NIOCore

/// Writes frames the way FreeSWITCH 1.10 does.
enum WireFormat {
    /// A reply: `Content-Type: command/reply` and `Reply-Text`, plus extra headers.
    static func commandReply(_ text: String, extra: [(String, String)] = []) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeString("Content-Type: command/reply\nReply-Text: \(text)\n")
        for (name, value) in extra { buffer.writeString("\(name): \(value)\n") }
        buffer.writeString("\n")
        return buffer
    }

    /// An `api/response` with the command's output as body.
    static func apiResponse(_ output: String) -> ByteBuffer {
        frame(contentType: "api/response", body: output)
    }

    /// A frame whose body follows `Content-Length` (FreeSWITCH puts it before `Content-Type`).
    static func frame(contentType: String, headers: [(String, String)] = [], body: String) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeString("Content-Type: \(contentType)\n")
        for (name, value) in headers { buffer.writeString("\(name): \(value)\n") }
        buffer.writeString("Content-Length: \(body.utf8.count)\n\n")
        buffer.writeString(body)
        return buffer
    }

    /// A disconnect notice: `linger` after the call ended on a lingering socket, otherwise the goodbye.
    static func disconnectNotice(linger uuid: String?) -> ByteBuffer {
        var buffer = ByteBuffer()
        if let uuid {
            buffer.writeString(
                "Content-Type: text/disconnect-notice\nControlled-Session-UUID: \(uuid)\n"
                    + "Content-Disposition: linger\nChannel-Name: loopback/switchboard-test\nLinger-Time: -1\n"
                    + "Content-Length: 0\n\n"
            )
            return buffer
        }
        return frame(
            contentType: "text/disconnect-notice",
            body: "Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n"
        )
    }

    /// An event in the format the client subscribed with. `headers` hold decoded values.
    static func event(_ headers: [(String, String)], body: String?, format: EventSocketEvent.Format) -> ByteBuffer {
        let text: String
        switch format {
        case .plain:
            var lines = headers.map { "\($0.0): \(PercentDecoding.encode($0.1))" }.joined(separator: "\n")
            if let body {
                lines += "\nContent-Length: \(body.utf8.count)\n\n\(body)"
            } else {
                lines += "\n\n"
            }
            text = lines
        case .json:
            var object: [String: Any] = [:]
            for (name, value) in headers where object[name] == nil { object[name] = value }
            if let body { object["_body"] = body }
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
            text = String(decoding: data, as: UTF8.self)
        case .xml:
            var xml = "<event>\n  <headers>\n"
            for (name, value) in headers {
                xml += "    <\(name)>\(escapeXML(PercentDecoding.encode(value)))</\(name)>\n"
            }
            xml += "  </headers>\n"
            if let body {
                xml += "  <Content-Length>\(body.utf8.count)</Content-Length>\n  <body>\(escapeXML(body))</body>\n"
            }
            xml += "</event>"
            text = xml
        }
        var buffer = ByteBuffer()
        buffer.writeString("Content-Length: \(text.utf8.count)\nContent-Type: text/event-\(format.rawValue)\n\n")
        buffer.writeString(text)
        return buffer
    }

    static func escapeXML(_ text: String) -> String {
        var result = ""
        for character in text {
            switch character {
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "&": result += "&amp;"
            default: result.append(character)
            }
        }
        return result
    }
}
