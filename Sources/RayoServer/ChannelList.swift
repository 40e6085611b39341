/// Reads the channel uuids out of `show channels as json` (`{"row_count":2,"rows":[{"uuid":"…",…},…]}`).
enum ChannelList {
    /// Every value of a `"uuid"` key in the text; empty for `{"row_count":0}` or anything unreadable.
    static func uuids(fromJSON text: String) -> Set<String> {
        var result: Set<String> = []
        let key = Array("\"uuid\"".utf8)
        let bytes = Array(text.utf8)
        var index = 0
        while index + key.count <= bytes.count {
            guard bytes[index..<index + key.count].elementsEqual(key) else {
                index += 1
                continue
            }
            var cursor = index + key.count
            while cursor < bytes.count, bytes[cursor] == UInt8(ascii: " ") || bytes[cursor] == UInt8(ascii: ":") {
                cursor += 1
            }
            guard cursor < bytes.count, bytes[cursor] == UInt8(ascii: "\"") else {
                index = cursor
                continue
            }
            let start = cursor + 1
            var end = start
            while end < bytes.count, bytes[end] != UInt8(ascii: "\"") { end += 1 }
            if end > start { result.insert(String(decoding: bytes[start..<end], as: UTF8.self)) }
            index = end + 1
        }
        return result
    }
}
