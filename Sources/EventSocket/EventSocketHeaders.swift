/// The headers of a frame or an event, in the order they arrived, duplicates kept.
///
/// Look-up by name ignores ASCII case, as FreeSWITCH does. Where a name occurs more than once, the subscript returns
/// the first value and ``values(for:)`` returns all of them.
public struct EventSocketHeaders: Sendable, Hashable {
    /// The headers as `(name, value)` pairs, in wire order.
    public private(set) var fields: [(name: String, value: String)]

    /// Creates headers from pairs kept in the given order.
    public init(_ fields: [(name: String, value: String)] = []) {
        self.fields = fields
    }

    /// The first value of the header with this name (ASCII case ignored), or `nil` when it is absent.
    public subscript(_ name: String) -> String? {
        for field in fields where Self.namesMatch(field.name, name) {
            return field.value
        }
        return nil
    }

    /// Every value of the header with this name, in order.
    public func values(for name: String) -> [String] {
        fields.lazy.filter { Self.namesMatch($0.name, name) }.map(\.value)
    }

    /// Whether a header with this name is present.
    public func contains(_ name: String) -> Bool { self[name] != nil }

    /// Appends a header, keeping any earlier one of the same name.
    public mutating func append(name: String, value: String) {
        fields.append((name, value))
    }

    /// The number of header lines.
    public var count: Int { fields.count }

    /// Compares two header names the way FreeSWITCH does: ASCII letters without regard to case.
    public static func namesMatch(_ lhs: String, _ rhs: String) -> Bool {
        let (left, right) = (lhs.utf8, rhs.utf8)
        guard left.count == right.count else { return false }
        // Native strings have contiguous UTF-8: compare the bytes directly rather than through two iterators.
        let contiguous = left.withContiguousStorageIfAvailable { leftBytes in
            right.withContiguousStorageIfAvailable { rightBytes in
                for index in 0..<leftBytes.count
                where asciiLowercased(leftBytes[index]) != asciiLowercased(rightBytes[index]) {
                    return false
                }
                return true
            }
        }
        if let contiguous, let result = contiguous { return result }
        return zip(left, right).allSatisfy { asciiLowercased($0) == asciiLowercased($1) }
    }

    @inlinable
    static func asciiLowercased(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
    }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.fields.count == rhs.fields.count
            && zip(lhs.fields, rhs.fields).allSatisfy { $0.name == $1.name && $0.value == $1.value }
    }

    public func hash(into hasher: inout Hasher) {
        for field in fields {
            hasher.combine(field.name)
            hasher.combine(field.value)
        }
    }
}

extension EventSocketHeaders: Sequence {
    /// Iterates the `(name, value)` pairs in wire order.
    public func makeIterator() -> IndexingIterator<[(name: String, value: String)]> {
        fields.makeIterator()
    }
}

extension EventSocketHeaders: ExpressibleByDictionaryLiteral {
    /// Creates headers from a literal; the literal's order is kept.
    public init(dictionaryLiteral elements: (String, String)...) {
        self.init(elements.map { (name: $0.0, value: $0.1) })
    }
}
