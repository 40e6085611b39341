import NIOCore

/// Decodes a `text/event-xml` body: `<event><headers><Name>value</Name>…</headers><body>…</body></event>`.
///
/// This is not a general XML parser and does not try to be: it accepts exactly the flat shape FreeSWITCH writes,
/// decodes the five predefined entities and numeric character references, and rejects everything else (DOCTYPE,
/// custom entities, deeper nesting) with an error, so hostile input cannot make it expand or recurse.
enum XMLEventParser {
    struct Decoded {
        var headers: EventSocketHeaders
        var body: String?
    }

    static func parse(_ buffer: ByteBuffer) throws -> Decoded {
        var scanner = Scanner(bytes: Array(buffer.readableBytesView))
        var decoded = Decoded(headers: EventSocketHeaders(), body: nil)
        scanner.skipProlog()
        try scanner.expectOpen("event")
        while true {
            scanner.skipWhitespace()
            if try scanner.closeIfPresent("event") { break }
            let section = try scanner.openTag()
            switch section {
            case "headers":
                while true {
                    scanner.skipWhitespace()
                    if try scanner.closeIfPresent("headers") { break }
                    let name = try scanner.openTag()
                    let text = try scanner.text(until: name)
                    // Values in XML events are URL-encoded like plain ones.
                    decoded.headers.append(name: name, value: EventSocketEvent.normalize(PercentDecoding.decode(text)))
                }
            case "body":
                decoded.body = try scanner.text(until: "body")
            default:
                // FreeSWITCH puts the body's Content-Length beside <headers>, not inside it.
                let text = try scanner.text(until: section)
                decoded.headers.append(name: section, value: EventSocketEvent.normalize(PercentDecoding.decode(text)))
            }
        }
        // The pretty-printer indents the closing </body>; Content-Length says where the body really ends.
        if let body = decoded.body, let length = decoded.headers["Content-Length"].flatMap(Int.init),
            length < body.utf8.count
        {
            decoded.body = String(decoding: Array(body.utf8.prefix(length)), as: UTF8.self)
        }
        return decoded
    }

    private struct Scanner {
        let bytes: [UInt8]
        var index = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        mutating func skipWhitespace() {
            while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
        }

        /// Skips an `<?xml …?>` declaration if present.
        mutating func skipProlog() {
            skipWhitespace()
            if bytes[index...].starts(with: Array("<?".utf8)),
                let end = find(Array("?>".utf8), from: index)
            {
                index = end + 2
            }
            skipWhitespace()
        }

        mutating func openTag() throws -> String {
            guard index < bytes.count, bytes[index] == UInt8(ascii: "<") else { throw error("expected '<'") }
            guard let end = bytes[index...].firstIndex(of: UInt8(ascii: ">")) else { throw error("unterminated tag") }
            let name = String(decoding: bytes[(index + 1)..<end], as: UTF8.self)
            guard !name.isEmpty, name.utf8.allSatisfy(Self.isNameByte) else {
                throw error("unsupported markup '<\(name.prefix(40))>'")
            }
            index = end + 1
            return name
        }

        mutating func expectOpen(_ name: String) throws {
            let found = try openTag()
            guard found == name else { throw error("expected <\(name)>, found <\(found)>") }
        }

        mutating func closeIfPresent(_ name: String) throws -> Bool {
            let tag = Array("</\(name)>".utf8)
            guard bytes[index...].starts(with: tag) else {
                if bytes[index...].starts(with: Array("</".utf8)) { throw error("mismatched closing tag in <\(name)>") }
                if index >= bytes.count { throw error("document ends inside <\(name)>") }
                return false
            }
            index += tag.count
            return true
        }

        /// Reads character data up to `</name>`, decoding entities.
        mutating func text(until name: String) throws -> String {
            let closing = Array("</\(name)>".utf8)
            guard let end = find(closing, from: index) else { throw error("<\(name)> is not closed") }
            let raw = bytes[index..<end]
            if raw.contains(UInt8(ascii: "<")) { throw error("markup inside <\(name)>") }
            index = end + closing.count
            return try Self.decodeEntities(raw)
        }

        private func find(_ needle: [UInt8], from start: Int) -> Int? {
            guard needle.count <= bytes.count else { return nil }
            var position = start
            while position + needle.count <= bytes.count {
                guard let first = bytes[position...].firstIndex(of: needle[0]) else { return nil }
                if first + needle.count <= bytes.count, bytes[first..<(first + needle.count)].elementsEqual(needle) {
                    return first
                }
                position = first + 1
            }
            return nil
        }

        private func error(_ what: String) -> EventSocketError {
            EventSocketError(.malformedEvent, "event-xml at byte \(index): \(what)")
        }

        private static func isNameByte(_ byte: UInt8) -> Bool {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."),
                UInt8(ascii: ":"):
                true
            default:
                false
            }
        }

        static func decodeEntities(_ raw: ArraySlice<UInt8>) throws -> String {
            guard raw.contains(UInt8(ascii: "&")) else { return String(decoding: raw, as: UTF8.self) }
            var output = [UInt8]()
            output.reserveCapacity(raw.count)
            var position = raw.startIndex
            while position < raw.endIndex {
                let byte = raw[position]
                guard byte == UInt8(ascii: "&") else {
                    output.append(byte)
                    position += 1
                    continue
                }
                guard let semicolon = raw[position...].prefix(12).firstIndex(of: UInt8(ascii: ";")) else {
                    throw EventSocketError(.malformedEvent, "event-xml: unterminated entity")
                }
                let entity = String(decoding: raw[(position + 1)..<semicolon], as: UTF8.self)
                switch entity {
                case "lt": output.append(UInt8(ascii: "<"))
                case "gt": output.append(UInt8(ascii: ">"))
                case "amp": output.append(UInt8(ascii: "&"))
                case "quot": output.append(UInt8(ascii: "\""))
                case "apos": output.append(UInt8(ascii: "'"))
                default:
                    let scalarValue: UInt32? =
                        if entity.hasPrefix("#x") {
                            UInt32(entity.dropFirst(2), radix: 16)
                        } else if entity.hasPrefix("#") {
                            UInt32(entity.dropFirst(1))
                        } else {
                            nil
                        }
                    guard let scalarValue, let scalar = Unicode.Scalar(scalarValue) else {
                        throw EventSocketError(.malformedEvent, "event-xml: unknown entity '&\(entity);'")
                    }
                    output.append(contentsOf: Array(String(Character(scalar)).utf8))
                }
                position = semicolon + 1
            }
            return String(decoding: output, as: UTF8.self)
        }
    }
}
