/// FreeSWITCH's URL encoding of header values (`switch_url_encode` / `switch_url_decode`).
///
/// Only `%XX` with two hex digits is decoded; `+` stays `+` (FreeSWITCH encodes a plus as `%2B`). A `%` that is not
/// followed by two hex digits is kept as it is, as FreeSWITCH does.
public enum PercentDecoding {
    /// Decodes `%XX` sequences in UTF-8 bytes into a string. Invalid UTF-8 is repaired with U+FFFD.
    @inlinable
    public static func decode<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> String {
        guard bytes.contains(UInt8(ascii: "%")) else {
            return String(decoding: bytes, as: UTF8.self)
        }
        var output = [UInt8]()
        output.reserveCapacity(bytes.count)
        var index = bytes.startIndex
        while index != bytes.endIndex {
            let byte = bytes[index]
            if byte == UInt8(ascii: "%") {
                let first = bytes.index(after: index)
                if first != bytes.endIndex {
                    let second = bytes.index(after: first)
                    if second != bytes.endIndex, let high = hexValue(bytes[first]), let low = hexValue(bytes[second]) {
                        output.append(high << 4 | low)
                        index = bytes.index(after: second)
                        continue
                    }
                }
            }
            output.append(byte)
            index = bytes.index(after: index)
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// Decodes raw bytes; most event values hold no escape, and then one vectorised search and one copy suffice.
    static func decode(raw bytes: UnsafeRawBufferPointer) -> String {
        guard ByteScan.firstIndex(of: UInt8(ascii: "%"), in: bytes, from: 0) != nil else {
            return String(decoding: bytes, as: UTF8.self)
        }
        return decode(bytes)
    }

    /// Decodes `%XX` sequences in a string.
    @inlinable
    public static func decode(_ string: String) -> String {
        guard string.utf8.contains(UInt8(ascii: "%")) else { return string }
        return decode(Array(string.utf8))
    }

    /// Encodes a value the way FreeSWITCH does for event-plain headers, so that it can be decoded again.
    public static func encode(_ string: String) -> String {
        var output = [UInt8]()
        output.reserveCapacity(string.utf8.count)
        let hex = Array("0123456789ABCDEF".utf8)
        for byte in string.utf8 {
            if byte < 0x20 || byte > 0x7E || reserved.contains(byte) {
                output.append(UInt8(ascii: "%"))
                output.append(hex[Int(byte >> 4)])
                output.append(hex[Int(byte & 0x0F)])
            } else {
                output.append(byte)
            }
        }
        return String(decoding: output, as: UTF8.self)
    }

    private static let reserved: Set<UInt8> = Set(" \r\n#%&+:;<=>?@[\\]^`{|}\"".utf8)

    @inlinable
    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
