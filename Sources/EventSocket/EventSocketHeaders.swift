/// The headers of a frame or an event, in the order they arrived, duplicates kept.
///
/// Look-up by name ignores ASCII case, as FreeSWITCH does. Where a name occurs more than once, the subscript returns
/// the first value and ``values(for:)`` returns all of them.
public struct EventSocketHeaders: Sendable, Hashable {
    private enum Storage: Sendable {
        /// Built in code, or materialised for a change.
        case fields([(name: String, value: String)])
        /// As decoded from the wire: the raw block and an index; values become strings when read.
        case indexed(HeaderIndex)
    }

    private var storage: Storage

    /// The headers as `(name, value)` pairs, in wire order.
    public var fields: [(name: String, value: String)] {
        switch storage {
        case .fields(let fields): fields
        case .indexed(let index): index.fields { String(decoding: $0, as: UTF8.self) }
        }
    }

    /// Creates headers from pairs kept in the given order.
    public init(_ fields: [(name: String, value: String)] = []) {
        self.storage = .fields(fields)
    }

    /// Headers read from the wire, kept as their bytes (values are not URL-decoded).
    init(index: HeaderIndex) {
        self.storage = .indexed(index)
    }

    /// The raw block and its index, when these headers came from the wire unchanged.
    var index: HeaderIndex? {
        if case .indexed(let index) = storage { return index }
        return nil
    }

    /// The first value of the header with this name (ASCII case ignored), or `nil` when it is absent.
    public subscript(_ name: String) -> String? {
        switch storage {
        case .fields(let fields):
            for field in fields where Self.namesMatch(field.name, name) {
                return field.value
            }
            return nil
        case .indexed(let index):
            return index.firstValue(named: name) { String(decoding: $0, as: UTF8.self) }
        }
    }

    /// Every value of the header with this name, in order.
    public func values(for name: String) -> [String] {
        switch storage {
        case .fields(let fields):
            fields.lazy.filter { Self.namesMatch($0.name, name) }.map(\.value)
        case .indexed(let index):
            index.allValues(named: name) { String(decoding: $0, as: UTF8.self) }
        }
    }

    /// Whether a header with this name is present.
    public func contains(_ name: String) -> Bool {
        switch storage {
        case .fields: self[name] != nil
        case .indexed(let index): index.firstValue(named: name) { _ in true } ?? false
        }
    }

    /// Appends a header, keeping any earlier one of the same name.
    public mutating func append(name: String, value: String) {
        var fields = self.fields
        storage = .fields([])  // Drop the old reference so that the append below does not copy.
        fields.append((name, value))
        storage = .fields(fields)
    }

    /// The number of header lines.
    public var count: Int {
        switch storage {
        case .fields(let fields): fields.count
        case .indexed(let index): index.count
        }
    }

    /// Compares two header names the way FreeSWITCH does: ASCII letters without regard to case.
    public static func namesMatch(_ lhs: String, _ rhs: String) -> Bool {
        let (left, right) = (lhs.utf8, rhs.utf8)
        guard left.count == right.count else { return false }
        // Native strings have contiguous UTF-8: compare the bytes directly rather than through two iterators.
        let contiguous = left.withContiguousStorageIfAvailable { leftBytes in
            right.withContiguousStorageIfAvailable { rightBytes in
                ByteScan.equalsIgnoringCase(UnsafeRawBufferPointer(leftBytes), UnsafeRawBufferPointer(rightBytes))
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
        let (left, right) = (lhs.fields, rhs.fields)
        return left.count == right.count
            && zip(left, right).allSatisfy { $0.name == $1.name && $0.value == $1.value }
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
