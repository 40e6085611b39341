import Switchboard

/// Reads a handler's settings (any `Decodable` type) from a listener's `settings` object the way the validator reads
/// every other key: a problem is recorded with its key path and position instead of ending the decoding, and the
/// keys the settings type never asked for are reported as unknown.
///
/// A value that cannot be read under `decodeIfPresent(_:forKey:)` (a string where a number belongs) is reported and
/// read as absent, so the setting keeps its default and decoding goes on to the next key: every such problem of one
/// object comes out at once. A required key (`decode(_:forKey:)`) that is missing or unreadable is reported and ends
/// the decoding of the object it belongs to.
final class SettingsReading {
    /// The document the settings are part of, for positions.
    let document: JSONDocument
    /// The registered name of the handler, for messages.
    let handler: String
    /// The path of the settings object itself.
    let root: String
    /// What was found, in the order it was found.
    private(set) var problems: [ConfigurationProblem] = []
    /// The keys the settings type asked for (present or not), per object path, in the order asked.
    private(set) var askedKeys: [String: [String]] = [:]
    /// The members of each object a keyed container was made for, by path.
    private var objects: [String: [JSONValue.Member]] = [:]
    /// The objects whose decoding returned normally: only their unasked keys are surely unknown.
    private var completedObjects: Set<String> = []

    init(document: JSONDocument, handler: String, root: String) {
        self.document = document
        self.handler = handler
        self.root = root
    }

    /// Decodes settings for `handler` at `path` (a missing `settings` object reads as `{}`) with `registry`,
    /// collecting every problem.
    static func decode(
        _ value: JSONValue?,
        at path: String,
        handler: String,
        document: JSONDocument,
        registry: HandlerRegistry
    ) -> (settings: DecodedHandlerSettings?, problems: [ConfigurationProblem]) {
        let reading = SettingsReading(document: document, handler: handler, root: path)
        let decoder = SettingsDecoder(value: value ?? .object([]), path: path, codingPath: [], reading: reading)
        var settings: DecodedHandlerSettings?
        do {
            settings = try registry.decodeSettings(forHandler: handler, from: decoder)
            reading.completed(path)
        } catch {
            reading.record(error, base: path, codingPath: [])
        }
        reading.reportUnknownKeys()
        for problem in settings?.problems ?? [] {
            reading.report(.invalidValue, at: SettingsReading.path(of: problem.key, under: path), problem.message)
        }
        return (reading.problems.isEmpty ? settings : nil, reading.problems)
    }

    /// The keys the handler's settings type asks for when it reads an empty object: the keys it knows, as far as it
    /// reads them with `decodeIfPresent` (the way ``HandlerSettings`` documents).
    static func keys(ofHandler handler: String, registry: HandlerRegistry) -> [String] {
        let document = JSONDocument(root: .object([]), positions: [:], keyPositions: [:], duplicateKeys: [])
        let reading = SettingsReading(document: document, handler: handler, root: "")
        let decoder = SettingsDecoder(value: .object([]), path: "", codingPath: [], reading: reading)
        _ = try? registry.decodeSettings(forHandler: handler, from: decoder)
        return reading.askedKeys[""] ?? []
    }

    // MARK: - Recording

    func report(_ code: ConfigurationProblem.Code, at path: String, _ message: String, position: TextPosition? = nil) {
        problems.append(
            ConfigurationProblem(
                code,
                keyPath: path,
                position: position ?? document.position(of: path),
                message: message
            )
        )
    }

    func reportWrongType(at path: String, expected: String, found value: JSONValue) {
        report(.wrongType, at: path, "must be \(expected), found \(value.foundDescription)")
    }

    /// Records an error thrown while decoding the value at `base`: one already reported is not repeated; a
    /// `DecodingError` the settings type threw itself is placed by its coding path.
    func record(_ error: any Error, base: String, codingPath: [any CodingKey]) {
        if error is AlreadyReported { return }
        guard let decodingError = error as? DecodingError else {
            report(.invalidValue, at: base, "\(error)")
            return
        }
        switch decodingError {
        case .dataCorrupted(let context):
            report(
                .invalidValue,
                at: Self.path(of: context.codingPath, under: base, dropping: codingPath),
                context.debugDescription
            )
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            report(
                .wrongType,
                at: Self.path(of: context.codingPath, under: base, dropping: codingPath),
                context.debugDescription
            )
        case .keyNotFound(let key, let context):
            let objectPath = Self.path(of: context.codingPath, under: base, dropping: codingPath)
            report(
                .missingKey,
                at: KeyPath.appending(key: key.stringValue, to: objectPath),
                "the key \(KeyPath.quoted(key.stringValue)) is required"
            )
        @unknown default:
            report(.invalidValue, at: base, "\(decodingError)")
        }
    }

    func keyedContainerMade(at path: String, members: [JSONValue.Member]) {
        objects[path] = members
        if askedKeys[path] == nil { askedKeys[path] = [] }
    }

    func asked(_ key: String, in path: String) {
        if askedKeys[path]?.contains(key) == false { askedKeys[path]?.append(key) }
    }

    func completed(_ path: String) { completedObjects.insert(path) }

    private func reportUnknownKeys() {
        for (path, members) in objects where completedObjects.contains(path) {
            let asked = askedKeys[path] ?? []
            for member in members where !asked.contains(member.key) {
                let memberPath = KeyPath.appending(key: member.key, to: path)
                let hint: String
                if asked.isEmpty {
                    hint =
                        path == root
                        ? "the handler \(KeyPath.quoted(handler)) takes no settings" : "no keys belong here"
                } else if let match = ConfigurationValidator.suggestion(for: member.key, among: asked) {
                    hint = "did you mean \(KeyPath.quoted(match))?"
                } else {
                    hint = "expected one of: \(asked.map { KeyPath.quoted($0) }.joined(separator: ", "))"
                }
                report(
                    .unknownKey,
                    at: memberPath,
                    "unknown key; \(hint)",
                    position: document.keyPosition(of: memberPath)
                )
            }
        }
    }

    // MARK: - Paths

    /// The full path of a ``SettingsProblem/key`` (`maxDigits`, `prompts.invalid`, `events[2]`, `""`) under `base`.
    static func path(of key: String, under base: String) -> String {
        if key.isEmpty { return base }
        if key.hasPrefix("[") { return base + key }
        return base.isEmpty ? key : "\(base).\(key)"
    }

    /// The full path of `codingPath` (which starts with `prefix`, the coding path of `base`) under `base`.
    static func path(of codingPath: [any CodingKey], under base: String, dropping prefix: [any CodingKey]) -> String {
        codingPath.dropFirst(prefix.count).reduce(base) { path, key in
            if let index = key.intValue, key.stringValue == "Index \(index)" || key.stringValue == String(index) {
                return KeyPath.appending(index: index, to: path)
            }
            return KeyPath.appending(key: key.stringValue, to: path)
        }
    }
}

/// Thrown once a problem is recorded, to stop decoding the value it is about.
private struct AlreadyReported: Error {}

/// A coding key for array elements and `superDecoder`.
private struct IndexKey: CodingKey {
    var stringValue: String
    var intValue: Int?
    init(stringValue: String) { self.stringValue = stringValue }
    init(intValue: Int) {
        self.stringValue = "Index \(intValue)"
        self.intValue = intValue
    }
}

/// A `Decoder` over one ``JSONValue`` of the configuration.
struct SettingsDecoder: Decoder {
    let value: JSONValue
    let path: String
    let codingPath: [any CodingKey]
    let reading: SettingsReading
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let members) = value else {
            reading.reportWrongType(at: path, expected: "an object", found: value)
            throw AlreadyReported()
        }
        reading.keyedContainerMade(at: path, members: members)
        return KeyedDecodingContainer(
            SettingsKeyedContainer<Key>(members: members, path: path, codingPath: codingPath, reading: reading)
        )
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let elements) = value else {
            reading.reportWrongType(at: path, expected: "an array", found: value)
            throw AlreadyReported()
        }
        return SettingsUnkeyedContainer(elements: elements, path: path, codingPath: codingPath, reading: reading)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        SettingsSingleValueContainer(value: value, path: path, codingPath: codingPath, reading: reading)
    }

    /// Decodes `type` from this value; the object is marked complete when it returns, for the unknown-key check.
    func decode<Value: Decodable>(_ type: Value.Type) throws -> Value {
        let result = try Value(from: self)
        reading.completed(path)
        return result
    }

    /// Reads this value as a scalar, reporting a value of another type.
    func scalar<Value: SettingsScalar>(_ type: Value.Type) throws -> Value {
        switch Value.read(value) {
        case .success(let result):
            return result
        case .failure(.wrongType(let expected)):
            reading.reportWrongType(at: path, expected: expected, found: value)
        case .failure(.invalid(let message)):
            reading.report(.invalidValue, at: path, message)
        case .failure(.notWhole(let number)):
            reading.report(.wrongType, at: path, "must be a whole number, found \(JSONValue.format(number))")
        }
        throw AlreadyReported()
    }
}

private struct SettingsKeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let members: [JSONValue.Member]
    let path: String
    let codingPath: [any CodingKey]
    let reading: SettingsReading

    var allKeys: [Key] {
        members.compactMap { member in
            reading.asked(member.key, in: path)
            return Key(stringValue: member.key)
        }
    }

    func contains(_ key: Key) -> Bool {
        reading.asked(key.stringValue, in: path)
        return members.contains { $0.key == key.stringValue }
    }

    private func child(_ key: Key) -> SettingsDecoder? {
        reading.asked(key.stringValue, in: path)
        guard let member = members.first(where: { $0.key == key.stringValue }) else { return nil }
        return SettingsDecoder(
            value: member.value,
            path: KeyPath.appending(key: key.stringValue, to: path),
            codingPath: codingPath + [key],
            reading: reading
        )
    }

    private func required(_ key: Key) throws -> SettingsDecoder {
        guard let child = child(key) else {
            reading.report(
                .missingKey,
                at: KeyPath.appending(key: key.stringValue, to: path),
                "the key \(KeyPath.quoted(key.stringValue)) is required"
            )
            throw AlreadyReported()
        }
        return child
    }

    /// A present, non-null value, or `nil`; a value that cannot be read is reported and read as `nil`.
    private func optional<Value>(_ key: Key, _ read: (SettingsDecoder) throws -> Value) throws -> Value? {
        guard let child = child(key), child.value != .null else { return nil }
        do {
            return try read(child)
        } catch {
            if !(error is AlreadyReported) && !(error is DecodingError) { throw error }
            reading.record(error, base: child.path, codingPath: child.codingPath)
            return nil
        }
    }

    func decodeNil(forKey key: Key) throws -> Bool { child(key).map { $0.value == .null } ?? true }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try required(key).decode(type) }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try required(key).scalar(type) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try required(key).scalar(type) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try required(key).scalar(type) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try required(key).scalar(type) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try required(key).scalar(type) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try required(key).scalar(type) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try required(key).scalar(type) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try required(key).scalar(type) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try required(key).scalar(type) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try required(key).scalar(type) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try required(key).scalar(type) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try required(key).scalar(type) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try required(key).scalar(type) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try required(key).scalar(type) }

    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        try optional(key) { try $0.decode(type) }
    }
    func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? {
        try optional(key) { try $0.scalar(type) }
    }
    func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? {
        try optional(key) { try $0.scalar(type) }
    }
    func decodeIfPresent(_ type: Double.Type, forKey key: Key) throws -> Double? {
        try optional(key) { try $0.scalar(type) }
    }
    func decodeIfPresent(_ type: Float.Type, forKey key: Key) throws -> Float? {
        try optional(key) { try $0.scalar(type) }
    }
    func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? { try optional(key) { try $0.scalar(type) } }
    func decodeIfPresent(_ type: Int8.Type, forKey key: Key) throws -> Int8? {
        try optional(key) { try $0.scalar(type) }
    }
    func decodeIfPresent(_ type: Int16.Type, forKey key: Key) throws -> Int16? {
        try optional(key) { try $0.scalar(type) }
    }
    func decodeIfPresent(_ type: Int32.Type, forKey key: Key) throws -> Int32? {
        try optional(key) { try $0.scalar(type) }
    }
    func decodeIfPresent(_ type: Int64.Type, forKey key: Key) throws -> Int64? {
        try optional(key) { try $0.scalar(type) }
    }
    func decodeIfPresent(_ type: UInt.Type, forKey key: Key) throws -> UInt? {
        try optional(key) { try $0.scalar(type) }
    }
    func decodeIfPresent(_ type: UInt8.Type, forKey key: Key) throws -> UInt8? {
        try optional(key) { try $0.scalar(type) }
    }
    func decodeIfPresent(_ type: UInt16.Type, forKey key: Key) throws -> UInt16? {
        try optional(key) { try $0.scalar(type) }
    }
    func decodeIfPresent(_ type: UInt32.Type, forKey key: Key) throws -> UInt32? {
        try optional(key) { try $0.scalar(type) }
    }
    func decodeIfPresent(_ type: UInt64.Type, forKey key: Key) throws -> UInt64? {
        try optional(key) { try $0.scalar(type) }
    }

    func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type,
        forKey key: Key
    ) throws -> KeyedDecodingContainer<NestedKey> {
        try required(key).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try required(key).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder {
        try required(Key(stringValue: "super")!)
    }

    func superDecoder(forKey key: Key) throws -> any Decoder { try required(key) }
}

private struct SettingsUnkeyedContainer: UnkeyedDecodingContainer {
    let elements: [JSONValue]
    let path: String
    let codingPath: [any CodingKey]
    let reading: SettingsReading
    private(set) var currentIndex = 0

    init(elements: [JSONValue], path: String, codingPath: [any CodingKey], reading: SettingsReading) {
        self.elements = elements
        self.path = path
        self.codingPath = codingPath
        self.reading = reading
    }

    var count: Int? { elements.count }
    var isAtEnd: Bool { currentIndex >= elements.count }

    private mutating func next() throws -> SettingsDecoder {
        guard !isAtEnd else {
            reading.report(.invalidValue, at: path, "must have more than \(elements.count) elements")
            throw AlreadyReported()
        }
        defer { currentIndex += 1 }
        return SettingsDecoder(
            value: elements[currentIndex],
            path: KeyPath.appending(index: currentIndex, to: path),
            codingPath: codingPath + [IndexKey(intValue: currentIndex)],
            reading: reading
        )
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd, elements[currentIndex] == .null else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try next().decode(type) }
    mutating func decode(_ type: Bool.Type) throws -> Bool { try next().scalar(type) }
    mutating func decode(_ type: String.Type) throws -> String { try next().scalar(type) }
    mutating func decode(_ type: Double.Type) throws -> Double { try next().scalar(type) }
    mutating func decode(_ type: Float.Type) throws -> Float { try next().scalar(type) }
    mutating func decode(_ type: Int.Type) throws -> Int { try next().scalar(type) }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try next().scalar(type) }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try next().scalar(type) }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try next().scalar(type) }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try next().scalar(type) }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try next().scalar(type) }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try next().scalar(type) }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try next().scalar(type) }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try next().scalar(type) }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try next().scalar(type) }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type
    ) throws -> KeyedDecodingContainer<NestedKey> {
        try next().container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer { try next().unkeyedContainer() }

    mutating func superDecoder() throws -> any Decoder { try next() }
}

private struct SettingsSingleValueContainer: SingleValueDecodingContainer {
    let value: JSONValue
    let path: String
    let codingPath: [any CodingKey]
    let reading: SettingsReading

    private var decoder: SettingsDecoder {
        SettingsDecoder(value: value, path: path, codingPath: codingPath, reading: reading)
    }

    func decodeNil() -> Bool { value == .null }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try decoder.decode(type) }
    func decode(_ type: Bool.Type) throws -> Bool { try decoder.scalar(type) }
    func decode(_ type: String.Type) throws -> String { try decoder.scalar(type) }
    func decode(_ type: Double.Type) throws -> Double { try decoder.scalar(type) }
    func decode(_ type: Float.Type) throws -> Float { try decoder.scalar(type) }
    func decode(_ type: Int.Type) throws -> Int { try decoder.scalar(type) }
    func decode(_ type: Int8.Type) throws -> Int8 { try decoder.scalar(type) }
    func decode(_ type: Int16.Type) throws -> Int16 { try decoder.scalar(type) }
    func decode(_ type: Int32.Type) throws -> Int32 { try decoder.scalar(type) }
    func decode(_ type: Int64.Type) throws -> Int64 { try decoder.scalar(type) }
    func decode(_ type: UInt.Type) throws -> UInt { try decoder.scalar(type) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try decoder.scalar(type) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try decoder.scalar(type) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try decoder.scalar(type) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try decoder.scalar(type) }
}

// MARK: - Scalars

/// Why a JSON value is not the scalar asked for.
enum ScalarProblem: Error {
    /// Another JSON type; `expected` names the wanted one ("an integer").
    case wrongType(expected: String)
    /// A fraction where an integer belongs.
    case notWhole(Double)
    /// The right type, but out of the type's range.
    case invalid(String)
}

/// A type the settings decoder reads straight from a JSON scalar.
protocol SettingsScalar {
    static func read(_ value: JSONValue) -> Result<Self, ScalarProblem>
}

extension Bool: SettingsScalar {
    static func read(_ value: JSONValue) -> Result<Bool, ScalarProblem> {
        guard case .bool(let flag) = value else { return .failure(.wrongType(expected: "true or false")) }
        return .success(flag)
    }
}

extension String: SettingsScalar {
    static func read(_ value: JSONValue) -> Result<String, ScalarProblem> {
        guard case .string(let text) = value else { return .failure(.wrongType(expected: "a string")) }
        return .success(text)
    }
}

extension Double: SettingsScalar {
    static func read(_ value: JSONValue) -> Result<Double, ScalarProblem> {
        guard case .number(let number) = value else { return .failure(.wrongType(expected: "a number")) }
        return .success(number)
    }
}

extension Float: SettingsScalar {
    static func read(_ value: JSONValue) -> Result<Float, ScalarProblem> {
        guard case .number(let number) = value else { return .failure(.wrongType(expected: "a number")) }
        return .success(Float(number))
    }
}

extension SettingsScalar where Self: FixedWidthInteger {
    static func read(_ value: JSONValue) -> Result<Self, ScalarProblem> {
        guard case .number(let number) = value else { return .failure(.wrongType(expected: "an integer")) }
        guard number.rounded() == number else { return .failure(.notWhole(number)) }
        guard let result = Self(exactly: number) else {
            return .failure(
                .invalid("must be an integer from \(Self.min) to \(Self.max), found \(JSONValue.format(number))")
            )
        }
        return .success(result)
    }
}

extension Int: SettingsScalar {}
extension Int8: SettingsScalar {}
extension Int16: SettingsScalar {}
extension Int32: SettingsScalar {}
extension Int64: SettingsScalar {}
extension UInt: SettingsScalar {}
extension UInt8: SettingsScalar {}
extension UInt16: SettingsScalar {}
extension UInt32: SettingsScalar {}
extension UInt64: SettingsScalar {}
