import Foundation
import NIOCore

/// Decodes a `text/event-json` body: a flat JSON object whose values are strings or arrays of strings, with the body
/// in `_body`. Values are not URL-encoded in this format.
enum JSONEventParser {
    struct Decoded {
        var headers: EventSocketHeaders
        var arrays: [String: [String]]
        var body: String?
    }

    static func parse(_ buffer: ByteBuffer) throws -> Decoded {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(buffer.readableBytesView))
        } catch {
            throw EventSocketError(.malformedEvent, "event-json body is not valid JSON: \(error)")
        }
        guard let dictionary = object as? [String: Any] else {
            throw EventSocketError(.malformedEvent, "event-json body is not a JSON object")
        }
        var decoded = Decoded(headers: EventSocketHeaders(), arrays: [:], body: nil)
        // Event-Name first, the rest in a stable order: JSON objects carry no order we could keep.
        for key in dictionary.keys.sorted(by: { ($0 == "Event-Name" ? 0 : 1, $0) < ($1 == "Event-Name" ? 0 : 1, $1) }) {
            let value = dictionary[key]!
            if key == "_body" {
                decoded.body = text(value)
                continue
            }
            if let array = value as? [Any] {
                let elements = array.map(text)
                decoded.arrays[key] = elements
                decoded.headers.append(name: key, value: "ARRAY::" + elements.joined(separator: "|:"))
            } else {
                decoded.headers.append(name: key, value: EventSocketEvent.normalize(text(value)))
            }
        }
        return decoded
    }

    private static func text(_ value: Any) -> String {
        switch value {
        case let string as String: string
        case let number as NSNumber: number.stringValue
        case is NSNull: ""
        default: String(describing: value)
        }
    }
}
