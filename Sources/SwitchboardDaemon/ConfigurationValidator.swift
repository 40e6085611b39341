import Logging
import RayoServer
import Switchboard

/// Turns a parsed JSON document into a ``SwitchboardConfiguration``, collecting every problem on the way rather
/// than stopping at the first: types, unknown and missing keys, values, then the checks across listeners (names,
/// ports, handlers).
struct ConfigurationValidator {
    /// The longest duration a `…Seconds` key accepts: one day.
    static let maximumSeconds = 86_400.0
    /// The largest `maxSessions`.
    static let maximumSessions = 1_000_000

    static let topLevelKeys = ["log", "listeners", "rayo", "metrics"]
    static let logKeys = ["file", "level"]
    static let commonListenerKeys = ["name", "kind", "handler"]
    static let inboundKeys =
        commonListenerKeys + [
            "host", "port", "password", "events", "filters", "format", "reconnect", "commandTimeoutSeconds", "settings",
        ]
    static let outboundKeys = commonListenerKeys + ["bind", "port", "maxSessions", "drainSeconds", "settings"]
    static let reconnectKeys = ["initialDelaySeconds", "maxDelaySeconds"]

    /// What the cross-listener checks need to know about one listener, as far as it could be read.
    struct ListenerFacts {
        var index: Int
        var name: String?
        var kind: HandlerKind?
        var handler: String?
        var bind: String?
        var port: Int?
    }

    /// An object's members, with the path they live at.
    struct Members {
        var path: String
        var members: [JSONValue.Member]

        subscript(key: String) -> JSONValue? { members.first { $0.key == key }?.value }

        func path(of key: String) -> String { KeyPath.appending(key: key, to: path) }
    }

    private let document: JSONDocument
    private let registry: HandlerRegistry
    private var problems: [ConfigurationProblem] = []

    private init(document: JSONDocument, registry: HandlerRegistry) {
        self.document = document
        self.registry = registry
    }

    /// What validation found.
    enum Outcome {
        /// The document is a valid configuration.
        case valid(SwitchboardConfiguration)
        /// Every problem with the document, in document order.
        case invalid([ConfigurationProblem])
    }

    /// The configuration, or every problem with it in document order.
    static func validate(_ document: JSONDocument, registry: HandlerRegistry) -> Outcome {
        var validator = ConfigurationValidator(document: document, registry: registry)
        let configuration = validator.configuration()
        if validator.problems.isEmpty, let configuration { return .valid(configuration) }
        return .invalid(validator.sortedProblems())
    }

    // MARK: - The document

    private mutating func configuration() -> SwitchboardConfiguration? {
        for duplicate in document.duplicateKeys {
            problems.append(
                ConfigurationProblem(
                    .duplicateKey,
                    keyPath: duplicate.path,
                    position: duplicate.position,
                    message: "the key appears twice in one object (first at \(duplicate.firstPosition))"
                )
            )
        }
        guard let top = object(document.root, at: "", allowedKeys: Self.topLevelKeys) else { return nil }

        var log = LogSettings()
        if let value = top["log"], let members = object(value, at: top.path(of: "log"), allowedKeys: Self.logKeys) {
            log = logSettings(members)
        }

        var listeners: [ListenerSettings] = []
        var facts: [ListenerFacts] = []
        let listenersPath = top.path(of: "listeners")
        if let value = top["listeners"] {
            if case .array(let elements) = value {
                if elements.isEmpty {
                    report(.invalidValue, at: listenersPath, "at least one listener is needed")
                }
                for (index, element) in elements.enumerated() {
                    var listenerFacts = ListenerFacts(index: index)
                    if let listener = listener(element, index: index, facts: &listenerFacts) {
                        listeners.append(listener)
                    }
                    facts.append(listenerFacts)
                }
            } else {
                reportWrongType(at: listenersPath, expected: "an array of listener objects", found: value)
            }
        } else {
            report(.missingKey, at: listenersPath, "the key \"listeners\" is required", position: position(of: ""))
        }
        var rayo: RayoServerConfiguration?
        if let value = top["rayo"] { rayo = rayoConfiguration(value, at: top.path(of: "rayo")) }
        checkNames(facts)
        checkPorts(facts)
        checkHandlers(facts)
        checkRayoHandlers(facts, rayoGiven: top["rayo"] != nil)
        if let rayo { checkRayoPorts(rayo, against: facts) }
        var metrics: MetricsSettings?
        if let value = top["metrics"] {
            metrics = metricsSettings(value, at: top.path(of: "metrics"))
            if let metrics { checkMetricsPort(metrics, against: facts, rayo: rayo) }
        }
        return SwitchboardConfiguration(log: log, listeners: listeners, rayo: rayo, metrics: metrics)
    }

    private mutating func logSettings(_ members: Members) -> LogSettings {
        var settings = LogSettings()
        settings.file = string(members, "file") { path in
            if path.isEmpty { return "must be a file path; leave the key out to log to standard error" }
            if path.unicodeScalars.contains(where: { $0.value == 0 }) { return "must not contain a NUL character" }
            return nil
        }
        if let level = string(members, "level", check: Self.checkLevel) {
            settings.level = Logger.Level(rawValue: level) ?? .info
        }
        return settings
    }

    private static func checkLevel(_ level: String) -> String? {
        guard Logger.Level(rawValue: level) == nil else { return nil }
        let names = Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")
        return "must be one of \(names), found \(KeyPath.quoted(level))"
    }

    // MARK: - Listeners

    private mutating func listener(_ value: JSONValue, index: Int, facts: inout ListenerFacts) -> ListenerSettings? {
        let path = KeyPath.appending(index: index, to: "listeners")
        guard case .object(let list) = value else {
            reportWrongType(at: path, expected: "a listener object", found: value)
            return nil
        }
        let members = Members(path: path, members: list)
        let name = requiredString(members, "name", check: Self.checkListenerName)
        let handler = requiredString(members, "handler") { $0.isEmpty ? "must name a handler" : nil }
        let kindText = requiredString(members, "kind", check: Self.checkKind)
        let kind = kindText.flatMap(HandlerKind.init(rawValue:))
        facts.name = name
        facts.handler = handler
        facts.kind = kind

        switch kind {
        case .inbound:
            checkKeys(members, allowed: Self.inboundKeys)
            var settings = inbound(members, name: name ?? "", handler: handler ?? "")
            settings.handlerSettings = handlerSettings(members, handler: handler, kind: .inbound)
            return name != nil && handler != nil ? .inbound(settings) : nil
        case .outbound:
            checkKeys(members, allowed: Self.outboundKeys)
            var settings = outbound(members, name: name ?? "", handler: handler ?? "", facts: &facts)
            settings.handlerSettings = handlerSettings(members, handler: handler, kind: .outbound)
            return name != nil && handler != nil ? .outbound(settings) : nil
        case nil:
            // Without a valid kind, the other keys cannot be checked against it; typos are still caught.
            checkKeys(members, allowed: Self.inboundKeys + Self.outboundKeys.filter { !Self.inboundKeys.contains($0) })
            return nil
        }
    }

    private static func checkListenerName(_ name: String) -> String? {
        if name.isEmpty { return "must not be empty" }
        if name.utf8.count > 255 { return "must be at most 255 characters long" }
        let allowed = name.unicodeScalars.allSatisfy { scalar in
            ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar)
                || ("0"..."9").contains(scalar) || scalar == "-" || scalar == "_" || scalar == "."
        }
        return allowed
            ? nil
            : "may use only letters, digits, '-', '_' and '.' (it names the listener in logs and in systemd's "
                + "FileDescriptorName=), found \(KeyPath.quoted(name))"
    }

    private mutating func inbound(_ members: Members, name: String, handler: String) -> InboundListenerSettings {
        var settings = InboundListenerSettings(name: name, handler: handler)
        if let host = string(members, "host", check: Self.checkAddress) { settings.host = host }
        if let port = integer(members, "port", in: 1...65_535) { settings.port = port }
        if let password = string(members, "password", check: Self.checkText) { settings.password = password }
        if let events = stringArray(members, "events", allowEmpty: false, check: Self.checkWord) {
            settings.events = events
        }
        if let filters = filters(members) { settings.filters = filters }
        if let format = string(members, "format", check: Self.checkFormat) {
            settings.format = InboundListenerSettings.EventFormat(rawValue: format) ?? .plain
        }
        if let value = members["reconnect"],
            let reconnect = object(value, at: members.path(of: "reconnect"), allowedKeys: Self.reconnectKeys)
        {
            let initial = seconds(reconnect, "initialDelaySeconds", allowZero: false)
            let maximum = seconds(reconnect, "maxDelaySeconds", allowZero: false)
            if let initial { settings.reconnect.initialDelay = initial }
            if let maximum { settings.reconnect.maxDelay = maximum }
            let given = (initial: reconnect["initialDelaySeconds"] != nil, maximum: reconnect["maxDelaySeconds"] != nil)
            if initial != nil || maximum != nil, settings.reconnect.initialDelay > settings.reconnect.maxDelay {
                let initialText = format(settings.reconnect.initialDelay) + (given.initial ? "" : ", the default")
                let maximumText = format(settings.reconnect.maxDelay) + (given.maximum ? "" : ", the default")
                if initial != nil {
                    report(
                        .invalidValue,
                        at: reconnect.path(of: "initialDelaySeconds"),
                        "must not exceed maxDelaySeconds (\(maximumText)), found \(initialText)"
                    )
                } else {
                    report(
                        .invalidValue,
                        at: reconnect.path(of: "maxDelaySeconds"),
                        "must not be less than initialDelaySeconds (\(initialText)), found \(maximumText)"
                    )
                }
            }
        }
        if let timeout = seconds(members, "commandTimeoutSeconds", allowZero: false) {
            settings.commandTimeout = timeout
        }
        return settings
    }

    private mutating func outbound(
        _ members: Members,
        name: String,
        handler: String,
        facts: inout ListenerFacts
    ) -> OutboundListenerSettings {
        var settings = OutboundListenerSettings(name: name, handler: handler)
        let bind = string(members, "bind", check: Self.checkAddress)
        let port = integer(members, "port", in: 1...65_535)
        if let bind { settings.bind = bind }
        if let port { settings.port = port }
        // The port check across listeners only uses an address known to be the one the listener will bind.
        facts.bind = members["bind"] == nil || bind != nil ? settings.bind : nil
        facts.port = members["port"] == nil || port != nil ? settings.port : nil
        if let maxSessions = integer(members, "maxSessions", in: 1...Self.maximumSessions) {
            settings.maxSessions = maxSessions
        }
        if let drain = seconds(members, "drainSeconds", allowZero: true) { settings.drainTime = drain }
        return settings
    }

    /// The listener's `settings` object decoded into its handler's `Settings` type, every problem reported with its
    /// key path. An absent object is checked as `{}` (a required key is reported) and gives `nil`: the handler is
    /// created with its defaults. `nil` too when the handler is unknown or of the other kind (reported elsewhere).
    private mutating func handlerSettings(
        _ members: Members,
        handler: String?,
        kind: HandlerKind
    ) -> ListenerHandlerSettings? {
        let value = members["settings"]
        let path = members.path(of: "settings")
        guard let handler, registry.kind(of: handler) == kind else {
            if handler == BuiltInHandler.rayo, let value, value != .object([]) {
                report(
                    .invalidValue,
                    at: path,
                    "the handler \"rayo\" takes no settings here; it is configured by the top-level \"rayo\" object"
                )
            }
            return nil
        }
        let (decoded, found) = SettingsReading.decode(
            value,
            at: path,
            handler: handler,
            document: document,
            registry: registry
        )
        problems += found
        guard let value, let decoded else { return nil }
        return ListenerHandlerSettings(decoded: decoded, source: value)
    }

    private mutating func filters(_ members: Members) -> [String: [String]]? {
        guard let value = members["filters"] else { return nil }
        let path = members.path(of: "filters")
        guard case .object(let list) = value else {
            reportWrongType(at: path, expected: "an object of header name → array of values", found: value)
            return nil
        }
        let filters = Members(path: path, members: list)
        var result: [String: [String]] = [:]
        for member in list {
            let headerPath = filters.path(of: member.key)
            if let problem = Self.checkWord(member.key) {
                report(.invalidValue, at: headerPath, "the header name \(problem)")
                continue
            }
            if let values = stringArray(filters, member.key, allowEmpty: false, check: Self.checkText) {
                result[member.key] = values
            }
        }
        return result
    }

    // MARK: - Checks across listeners

    private mutating func checkNames(_ facts: [ListenerFacts]) {
        var first: [String: Int] = [:]
        for listener in facts {
            guard let name = listener.name else { continue }
            if let earlier = first[name] {
                report(
                    .duplicateName,
                    at: "listeners[\(listener.index)].name",
                    "the name \(KeyPath.quoted(name)) is already used by listeners[\(earlier)]"
                )
            } else {
                first[name] = listener.index
            }
        }
    }

    private mutating func checkPorts(_ facts: [ListenerFacts]) {
        let outbound = facts.filter { $0.kind == .outbound && $0.port != nil && $0.bind != nil }
        for (offset, listener) in outbound.enumerated() {
            let clash = outbound[..<offset].first { earlier in
                earlier.port == listener.port
                    && (earlier.bind == listener.bind || Self.isWildcard(earlier.bind)
                        || Self.isWildcard(listener.bind))
            }
            guard let clash, let port = listener.port, let bind = listener.bind else { continue }
            let other = clash.name.map { " (\(KeyPath.quoted($0)))" } ?? ""
            report(
                .duplicatePort,
                at: "listeners[\(listener.index)].port",
                "port \(port) on \(bind) is already taken by listeners[\(clash.index)]\(other) on \(clash.bind ?? bind)"
            )
        }
    }

    private mutating func checkRayoHandlers(_ facts: [ListenerFacts], rayoGiven: Bool) {
        guard !rayoGiven else { return }
        for listener in facts where listener.handler == BuiltInHandler.rayo && listener.kind != .inbound {
            report(
                .missingKey,
                at: "listeners[\(listener.index)].handler",
                "the handler \"rayo\" hands calls to the Rayo server, which needs a top-level \"rayo\" object "
                    + "(domain, users, eventSocket…)"
            )
        }
    }

    /// An XMPP listener must not take the address and port of an outbound listener.
    private mutating func checkRayoPorts(_ rayo: RayoServerConfiguration, against facts: [ListenerFacts]) {
        let outbound = facts.filter { $0.kind == .outbound && $0.port != nil && $0.bind != nil }
        for (index, listener) in rayo.listeners.enumerated() {
            let clash = outbound.first { other in
                other.port == listener.port
                    && (other.bind == listener.bind || Self.isWildcard(other.bind) || Self.isWildcard(listener.bind))
            }
            guard let clash else { continue }
            report(
                .duplicatePort,
                at: "rayo.listen[\(index)].port",
                "port \(listener.port) on \(listener.bind) is already taken by listeners[\(clash.index)]"
                    + (clash.name.map { " (\(KeyPath.quoted($0)))" } ?? "")
            )
        }
    }

    static func isWildcard(_ address: String?) -> Bool {
        address == "0.0.0.0" || address == "::" || address == "[::]"
    }

    private mutating func checkHandlers(_ facts: [ListenerFacts]) {
        for listener in facts {
            guard let handler = listener.handler, !handler.isEmpty else { continue }
            let path = "listeners[\(listener.index)].handler"
            let builtIn: HandlerKind? = handler == BuiltInHandler.rayo ? .outbound : nil
            guard let handlerKind = registry.kind(of: handler) ?? builtIn else {
                let candidates = registry.entries.filter { listener.kind == nil || $0.kind == listener.kind }
                let names = candidates.map(\.name) + (listener.kind == .inbound ? [] : [BuiltInHandler.rayo])
                let known =
                    names.isEmpty
                    ? "no \(listener.kind.map { "\($0) " } ?? "")handlers are registered"
                    : "registered \(listener.kind.map { "\($0) " } ?? "")handlers: "
                        + names.sorted().joined(separator: ", ")
                report(.unknownHandler, at: path, "no handler is named \(KeyPath.quoted(handler)); \(known)")
                continue
            }
            if let kind = listener.kind, kind != handlerKind {
                report(
                    .wrongHandlerKind,
                    at: path,
                    "\(KeyPath.quoted(handler)) is an \(handlerKind) handler, but this listener is \(kind)"
                )
            }
        }
    }

    // MARK: - Reading values

    /// The members of an object, after reporting its unknown keys; `nil` (reported) when `value` is no object.
    mutating func object(_ value: JSONValue, at path: String, allowedKeys: [String]) -> Members? {
        guard case .object(let list) = value else {
            reportWrongType(at: path, expected: "an object", found: value)
            return nil
        }
        let members = Members(path: path, members: list)
        checkKeys(members, allowed: allowedKeys)
        return members
    }

    mutating func checkKeys(_ members: Members, allowed: [String]) {
        for member in members.members where !allowed.contains(member.key) {
            let hint = Self.suggestion(for: member.key, among: allowed).map { "did you mean \(KeyPath.quoted($0))?" }
            report(
                .unknownKey,
                at: members.path(of: member.key),
                "unknown key; "
                    + (hint ?? "expected one of: \(allowed.map { KeyPath.quoted($0) }.joined(separator: ", "))"),
                position: document.keyPosition(of: members.path(of: member.key))
            )
        }
    }

    mutating func requiredString(
        _ members: Members,
        _ key: String,
        check: (String) -> String? = { _ in nil }
    ) -> String? {
        guard members[key] != nil else {
            report(
                .missingKey,
                at: members.path(of: key),
                "the key \(KeyPath.quoted(key)) is required",
                position: position(of: members.path)
            )
            return nil
        }
        return string(members, key, check: check)
    }

    /// The string at `key`; `nil` when absent or reported as a problem.
    mutating func string(
        _ members: Members,
        _ key: String,
        check: (String) -> String? = { _ in nil }
    ) -> String? {
        guard let value = members[key] else { return nil }
        let path = members.path(of: key)
        guard case .string(let text) = value else {
            reportWrongType(at: path, expected: "a string", found: value)
            return nil
        }
        if let problem = check(text) {
            report(.invalidValue, at: path, problem)
            return nil
        }
        return text
    }

    /// The integer at `key`; `nil` when absent or reported as a problem.
    mutating func integer(_ members: Members, _ key: String, in range: ClosedRange<Int>) -> Int? {
        guard let value = members[key] else { return nil }
        let path = members.path(of: key)
        guard case .number(let number) = value else {
            reportWrongType(at: path, expected: "an integer", found: value)
            return nil
        }
        guard number.rounded() == number else {
            report(.wrongType, at: path, "must be a whole number, found \(format(number))")
            return nil
        }
        guard abs(number) < 1e15, range.contains(Int(number)) else {
            report(
                .invalidValue,
                at: path,
                "must be an integer from \(range.lowerBound) to \(range.upperBound), found \(format(number))"
            )
            return nil
        }
        return Int(number)
    }

    /// The number of seconds at `key`; `nil` when absent or reported as a problem.
    mutating func seconds(_ members: Members, _ key: String, allowZero: Bool) -> Duration? {
        guard let value = members[key] else { return nil }
        let path = members.path(of: key)
        guard case .number(let number) = value else {
            reportWrongType(at: path, expected: "a number of seconds", found: value)
            return nil
        }
        let lowest = allowZero ? 0 : 0.001
        guard number >= lowest, number <= Self.maximumSeconds else {
            let lower = allowZero ? "from 0" : "greater than 0 (at least 0.001)"
            report(
                .invalidValue,
                at: path,
                "must be a number of seconds \(lower) up to \(format(Self.maximumSeconds)), found \(format(number))"
            )
            return nil
        }
        return .nanoseconds(Int64((number * 1e9).rounded()))
    }

    /// The array of strings at `key`; `nil` when absent or reported as a problem (each bad element is reported).
    mutating func stringArray(
        _ members: Members,
        _ key: String,
        allowEmpty: Bool,
        check: (String) -> String?
    ) -> [String]? {
        guard let value = members[key] else { return nil }
        let path = members.path(of: key)
        guard case .array(let elements) = value else {
            reportWrongType(at: path, expected: "an array of strings", found: value)
            return nil
        }
        if elements.isEmpty && !allowEmpty {
            report(.invalidValue, at: path, "must list at least one value")
            return nil
        }
        var strings: [String] = []
        var valid = true
        for (index, element) in elements.enumerated() {
            let elementPath = KeyPath.appending(index: index, to: path)
            guard case .string(let text) = element else {
                reportWrongType(at: elementPath, expected: "a string", found: element)
                valid = false
                continue
            }
            if let problem = check(text) {
                report(.invalidValue, at: elementPath, problem)
                valid = false
                continue
            }
            strings.append(text)
        }
        return valid ? strings : nil
    }

    /// Problems with a word sent on an event socket command line (event names, header names), or `nil`.
    private static func checkWord(_ word: String) -> String? {
        if word.isEmpty { return "must not be empty" }
        if word.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0.value < 0x20 || $0.value == 0x7F }) {
            return "must be one word without spaces or control characters, found \(KeyPath.quoted(word))"
        }
        return nil
    }

    static func checkAddress(_ address: String) -> String? {
        if address.isEmpty { return "must be a host name or IP address" }
        if address.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0.value < 0x20 }) {
            return "must be a host name or IP address without spaces, found \(KeyPath.quoted(address))"
        }
        return nil
    }

    /// Problems with a password or filter value: it must be non-empty and on one line.
    static func checkText(_ text: String) -> String? {
        if text.isEmpty { return "must not be empty" }
        if text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            return "must not contain control characters (line breaks, tabs)"
        }
        return nil
    }

    private static func checkFormat(_ format: String) -> String? {
        InboundListenerSettings.EventFormat(rawValue: format) == nil
            ? "must be \"plain\" or \"json\", found \(KeyPath.quoted(format))" : nil
    }

    private static func checkKind(_ kind: String) -> String? {
        HandlerKind(rawValue: kind) == nil ? "must be \"inbound\" or \"outbound\", found \(KeyPath.quoted(kind))" : nil
    }

    // MARK: - Reporting

    mutating func report(
        _ code: ConfigurationProblem.Code,
        at path: String,
        _ message: String,
        position: TextPosition? = nil
    ) {
        problems.append(
            ConfigurationProblem(code, keyPath: path, position: position ?? self.position(of: path), message: message)
        )
    }

    mutating func reportWrongType(at path: String, expected: String, found value: JSONValue) {
        report(.wrongType, at: path, "must be \(expected), found \(value.foundDescription)")
    }

    /// Where the value at `path` starts; for a key that was left out (a default), where its object starts.
    func position(of path: String) -> TextPosition? { document.position(of: path) }

    private func sortedProblems() -> [ConfigurationProblem] {
        let last = TextPosition(line: Int.max, column: Int.max)
        return problems.enumerated()
            .sorted { lhs, rhs in
                let left = lhs.element.position ?? last
                let right = rhs.element.position ?? last
                return left == right ? lhs.offset < rhs.offset : left < right
            }
            .map(\.element)
    }

    func format(_ number: Double) -> String { JSONValue.format(number) }

    private func format(_ duration: Duration) -> String {
        format(Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18)
    }

    /// A key from `candidates` that `key` is probably a misspelling of.
    static func suggestion(for key: String, among candidates: [String]) -> String? {
        let lowered = key.lowercased()
        if let match = candidates.first(where: { $0.lowercased() == lowered }) { return match }
        let scored = candidates.map { ($0, editDistance(lowered, $0.lowercased())) }
        guard let best = scored.min(by: { $0.1 < $1.1 }), best.1 <= max(1, min(3, best.0.count / 4)) else {
            return nil
        }
        return best.0
    }

    private static func editDistance(_ lhs: String, _ rhs: String) -> Int {
        let left = Array(lhs.unicodeScalars)
        let right = Array(rhs.unicodeScalars)
        if left.isEmpty { return right.count }
        if right.isEmpty { return left.count }
        var previous = Array(0...right.count)
        var current = [Int](repeating: 0, count: right.count + 1)
        for i in 1...left.count {
            current[0] = i
            for j in 1...right.count {
                let substitution = previous[j - 1] + (left[i - 1] == right[j - 1] ? 0 : 1)
                current[j] = min(previous[j] + 1, current[j - 1] + 1, substitution)
            }
            swap(&previous, &current)
        }
        return previous[right.count]
    }
}
