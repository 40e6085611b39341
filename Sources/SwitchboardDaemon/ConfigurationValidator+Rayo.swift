import RayoServer

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Handlers the daemon provides itself, because they need a service the daemon runs (not a registered type).
public enum BuiltInHandler {
    /// `rayo`: an outbound handler that hands each call to the Rayo server; needs the top-level `rayo` object.
    public static let rayo = "rayo"
    /// What `rayo` does, for `switchboard handlers`.
    public static let rayoSummary = "Offers each call to Rayo (XMPP) clients; needs the \"rayo\" object"
}

extension ConfigurationValidator {
    static let rayoKeys = [
        "domain", "listen", "tls", "users", "eventSocket", "maxIdleSeconds", "offerURI", "addVariablesToOffer",
        "addVariablesToEvents", "offerAlgorithm", "offerTimeoutMs", "mixerConferenceProfile", "dialGateways",
        "aliases", "whenClientLeaves", "control", "drainSeconds", "limits", "timeouts",
    ]
    static let rayoListenKeys = ["bind", "port", "acl"]
    static let rayoTLSKeys = ["certificate", "privateKey"]
    static let rayoUserKeys = ["name", "password", "passwordHash"]
    static let rayoEventSocketKeys = ["host", "port", "password"]
    static let rayoGatewayKeys = ["uriPrefix", "dialPrefix", "strip"]
    static let rayoAliasKeys = ["name", "target", "xml"]
    static let rayoControlKeys = ["socket", "mode"]
    static let rayoLimitKeys = ["maxStanzaBytes", "maxDepth", "maxAttributes", "maxClients", "failedLoginsPerMinute"]
    static let rayoTimeoutKeys = [
        "handshakeSeconds", "pingIntervalSeconds", "pingTimeoutSeconds", "eventSocketCommandSeconds",
    ]
    /// Console words an alias may not take.
    static let consoleWords: Set<String> = ["status", "cmd", "msg", "presence", "hash-password", "help"]

    /// The `rayo` object, or `nil` when it has problems (all reported).
    mutating func rayoConfiguration(_ value: JSONValue, at path: String) -> RayoServerConfiguration? {
        guard let members = object(value, at: path, allowedKeys: Self.rayoKeys) else { return nil }
        let domain = requiredString(members, "domain", check: Self.checkDomain)
        var configuration = RayoServerConfiguration(domain: domain ?? "invalid", users: [])
        var valid = domain != nil

        if let listeners = objectArray(
            members,
            "listen",
            keys: Self.rayoListenKeys,
            transform: { v, m in
                v.rayoListener(m)
            }
        ) {
            configuration.listeners = listeners.compactMap { $0 }
            valid = valid && listeners.allSatisfy { $0 != nil }
            checkDuplicateListeners(configuration.listeners, at: members.path(of: "listen"))
        } else if members["listen"] != nil {
            valid = false
        }

        if let value = members["tls"] {
            if let tls = object(value, at: members.path(of: "tls"), allowedKeys: Self.rayoTLSKeys) {
                let certificate = requiredString(tls, "certificate", check: Self.checkReadableFile)
                let key = requiredString(tls, "privateKey", check: Self.checkReadableFile)
                if let certificate, let key {
                    configuration.tls = .init(certificate: certificate, privateKey: key)
                } else {
                    valid = false
                }
            } else {
                valid = false
            }
        }

        if members["users"] == nil {
            report(
                .missingKey,
                at: members.path(of: "users"),
                "the key \"users\" is required: the accounts Rayo clients log in with",
                position: nil
            )
            valid = false
        } else if let users = objectArray(
            members,
            "users",
            keys: Self.rayoUserKeys,
            transform: { v, m in
                v.rayoUser(m)
            }
        ) {
            if users.isEmpty {
                report(.invalidValue, at: members.path(of: "users"), "at least one user is needed")
                valid = false
            }
            configuration.users = users.compactMap { $0 }
            valid = valid && users.allSatisfy { $0 != nil }
            var seen: [String: Int] = [:]
            for (index, user) in users.enumerated() {
                guard let user else { continue }
                if let earlier = seen[user.name] {
                    report(
                        .duplicateName,
                        at: KeyPath.appending(index: index, to: members.path(of: "users")) + ".name",
                        "the user \(KeyPath.quoted(user.name)) is already defined by users[\(earlier)]"
                    )
                    valid = false
                } else {
                    seen[user.name] = index
                }
            }
        } else {
            valid = false
        }

        if let value = members["eventSocket"] {
            if let socket = object(value, at: members.path(of: "eventSocket"), allowedKeys: Self.rayoEventSocketKeys) {
                if let host = string(socket, "host", check: Self.checkAddress) { configuration.eventSocket.host = host }
                if let port = integer(socket, "port", in: 1...65_535) { configuration.eventSocket.port = port }
                if let password = string(socket, "password", check: Self.checkText) {
                    configuration.eventSocket.password = password
                }
            }
        }

        if members["maxIdleSeconds"] != nil {
            if let idle = seconds(members, "maxIdleSeconds", allowZero: true) {
                configuration.maxIdle = idle == .zero ? nil : idle
            }
        }
        if let flag = boolean(members, "offerURI") { configuration.offerURI = flag }
        if let flag = boolean(members, "addVariablesToOffer") { configuration.addVariablesToOffer = flag }
        if let flag = boolean(members, "addVariablesToEvents") { configuration.addVariablesToEvents = flag }
        if let name = string(
            members,
            "offerAlgorithm",
            check: Self.checkOneOf(RayoServerConfiguration.OfferAlgorithmName.self)
        ) {
            configuration.offerAlgorithm = .init(rawValue: name) ?? .all
        }
        if let milliseconds = integer(members, "offerTimeoutMs", in: 1...3_600_000) {
            configuration.offerTimeout = .milliseconds(milliseconds)
        }
        if let profile = string(members, "mixerConferenceProfile", check: Self.checkProfile) {
            configuration.mixerConferenceProfile = profile
        }
        if let gateways = objectArray(
            members,
            "dialGateways",
            keys: Self.rayoGatewayKeys,
            transform: { v, m in
                v.rayoGateway(m)
            }
        ) {
            configuration.dialGateways = gateways.compactMap { $0 }
            var seen: [String: Int] = [:]
            for (index, gateway) in gateways.enumerated() {
                guard let gateway else { continue }
                if let earlier = seen[gateway.uriPrefix] {
                    report(
                        .invalidValue,
                        at: KeyPath.appending(index: index, to: members.path(of: "dialGateways")) + ".uriPrefix",
                        "the prefix \(KeyPath.quoted(gateway.uriPrefix)) is already used by dialGateways[\(earlier)]"
                    )
                } else {
                    seen[gateway.uriPrefix] = index
                }
            }
        }
        if let aliases = objectArray(
            members,
            "aliases",
            keys: Self.rayoAliasKeys,
            transform: { v, m in
                v.rayoAlias(m)
            }
        ) {
            configuration.aliases = aliases.compactMap { $0 }
            var seen: [String: Int] = [:]
            for (index, alias) in aliases.enumerated() {
                guard let alias else { continue }
                if let earlier = seen[alias.name] {
                    report(
                        .duplicateName,
                        at: KeyPath.appending(index: index, to: members.path(of: "aliases")) + ".name",
                        "the alias \(KeyPath.quoted(alias.name)) is already defined by aliases[\(earlier)]"
                    )
                } else {
                    seen[alias.name] = index
                }
            }
        }
        if let policy = string(
            members,
            "whenClientLeaves",
            check: Self.checkOneOf(RayoServerConfiguration.ClientLeavePolicyName.self)
        ) {
            configuration.whenClientLeaves = .init(rawValue: policy) ?? .hangup
        }
        if let value = members["control"],
            let control = object(value, at: members.path(of: "control"), allowedKeys: Self.rayoControlKeys)
        {
            let socket = requiredString(control, "socket", check: Self.checkSocketPath)
            let mode = string(control, "mode", check: Self.checkMode)
            if let socket {
                configuration.control = .init(path: socket, mode: mode.flatMap { UInt32($0, radix: 8) } ?? 0o600)
            }
        }
        if let drain = seconds(members, "drainSeconds", allowZero: true) { configuration.drainTime = drain }
        if let value = members["limits"],
            let limits = object(value, at: members.path(of: "limits"), allowedKeys: Self.rayoLimitKeys)
        {
            if let bytes = integer(limits, "maxStanzaBytes", in: 1_024...16_777_216) {
                configuration.limits.maxStanzaBytes = bytes
            }
            if let depth = integer(limits, "maxDepth", in: 4...10_000) { configuration.limits.maxDepth = depth }
            if let count = integer(limits, "maxAttributes", in: 4...10_000) {
                configuration.limits.maxAttributes = count
            }
            if let count = integer(limits, "maxClients", in: 1...1_000_000) { configuration.limits.maxClients = count }
            if let count = integer(limits, "failedLoginsPerMinute", in: 1...100_000) {
                configuration.limits.failedLoginsPerMinute = count
            }
        }
        if let value = members["timeouts"],
            let timeouts = object(value, at: members.path(of: "timeouts"), allowedKeys: Self.rayoTimeoutKeys)
        {
            if let time = seconds(timeouts, "handshakeSeconds", allowZero: false) {
                configuration.timeouts.handshake = time
            }
            if let time = seconds(timeouts, "pingIntervalSeconds", allowZero: false) {
                configuration.timeouts.pingInterval = time
            }
            if let time = seconds(timeouts, "pingTimeoutSeconds", allowZero: false) {
                configuration.timeouts.pingTimeout = time
            }
            if let time = seconds(timeouts, "eventSocketCommandSeconds", allowZero: false) {
                configuration.timeouts.eventSocketCommand = time
            }
        }
        return valid ? configuration : nil
    }

    // MARK: - Elements of the rayo object

    private mutating func rayoListener(_ members: Members) -> RayoServerConfiguration.Listener? {
        var listener = RayoServerConfiguration.Listener()
        var valid = true
        if members["bind"] != nil {
            if let bind = string(members, "bind", check: Self.checkAddress) {
                listener.bind = bind
            } else {
                valid = false
            }
        }
        if members["port"] != nil {
            if let port = integer(members, "port", in: 1...65_535) { listener.port = port } else { valid = false }
        }
        if members["acl"] != nil {
            if let acl = stringArray(members, "acl", allowEmpty: false, check: Self.checkCIDR) {
                listener.allow = acl
            } else {
                valid = false
            }
        }
        return valid ? listener : nil
    }

    private mutating func checkDuplicateListeners(_ listeners: [RayoServerConfiguration.Listener], at path: String) {
        for (index, listener) in listeners.enumerated() {
            guard
                let earlier = listeners[..<index].firstIndex(where: { other in
                    other.port == listener.port
                        && (other.bind == listener.bind || Self.isWildcard(other.bind)
                            || Self.isWildcard(listener.bind))
                })
            else { continue }
            report(
                .duplicatePort,
                at: KeyPath.appending(index: index, to: path) + ".port",
                "port \(listener.port) on \(listener.bind) is already taken by listen[\(earlier)]"
            )
        }
    }

    private mutating func rayoUser(_ members: Members) -> RayoServerConfiguration.User? {
        let name = requiredString(members, "name", check: Self.checkUserName)
        let hasPassword = members["password"] != nil
        let hasHash = members["passwordHash"] != nil
        if hasPassword == hasHash {
            report(
                hasPassword ? .invalidValue : .missingKey,
                at: members.path(of: hasPassword ? "passwordHash" : "password"),
                hasPassword
                    ? "give either \"password\" or \"passwordHash\", not both"
                    : "the user needs a \"password\" or a \"passwordHash\" (from `switchboard rayo hash-password`)",
                position: hasPassword ? nil : position(of: members.path)
            )
            return nil
        }
        var user = RayoServerConfiguration.User(name: name ?? "")
        if hasPassword {
            guard let password = string(members, "password", check: Self.checkText) else { return nil }
            user.password = password
        } else {
            let path = members.path(of: "passwordHash")
            switch members["passwordHash"] {
            case .string:
                guard let hash = string(members, "passwordHash", check: Self.checkStoredKeys) else { return nil }
                user.passwordHashes = [hash]
            case .array:
                guard let hashes = stringArray(members, "passwordHash", allowEmpty: false, check: Self.checkStoredKeys)
                else { return nil }
                user.passwordHashes = hashes
            case let other?:
                reportWrongType(at: path, expected: "a string or an array of strings (stored keys)", found: other)
                return nil
            case nil:
                return nil
            }
        }
        return name == nil ? nil : user
    }

    private mutating func rayoGateway(_ members: Members) -> RayoServerConfiguration.DialGatewayRule? {
        let prefix = requiredString(members, "uriPrefix", check: Self.checkText)
        let dial = requiredString(members, "dialPrefix", check: Self.checkText)
        let strip = members["strip"] == nil ? 0 : integer(members, "strip", in: 0...1_000)
        guard let prefix, let dial, let strip else { return nil }
        return .init(uriPrefix: prefix, dialPrefix: dial, strip: strip)
    }

    private mutating func rayoAlias(_ members: Members) -> RayoServerConfiguration.Alias? {
        let name = requiredString(members, "name", check: Self.checkAliasName)
        let target = requiredString(members, "target", check: Self.checkOneOf(RayoServerConfiguration.AliasTarget.self))
        let xml = requiredString(members, "xml", check: Self.checkCommandXML)
        guard let name, let target, let kind = RayoServerConfiguration.AliasTarget(rawValue: target), let xml else {
            return nil
        }
        return .init(name: name, target: kind, xml: xml)
    }

    // MARK: - Readers

    /// The boolean at `key`; `nil` when absent or reported.
    mutating func boolean(_ members: Members, _ key: String) -> Bool? {
        guard let value = members[key] else { return nil }
        guard case .bool(let flag) = value else {
            reportWrongType(at: members.path(of: key), expected: "true or false", found: value)
            return nil
        }
        return flag
    }

    /// Each object of the array at `key`, read by `transform` (`nil` for an element with problems); `nil` when the key
    /// is absent or not an array (reported).
    mutating func objectArray<Element>(
        _ members: Members,
        _ key: String,
        keys: [String],
        transform: (inout ConfigurationValidator, Members) -> Element?
    ) -> [Element?]? {
        guard let value = members[key] else { return nil }
        let path = members.path(of: key)
        guard case .array(let elements) = value else {
            reportWrongType(at: path, expected: "an array of objects", found: value)
            return nil
        }
        var result: [Element?] = []
        for (index, element) in elements.enumerated() {
            let elementPath = KeyPath.appending(index: index, to: path)
            guard let object = object(element, at: elementPath, allowedKeys: keys) else {
                result.append(nil)
                continue
            }
            result.append(transform(&self, object))
        }
        return result
    }

    // MARK: - Checks

    static func checkOneOf<Kind: RawRepresentable & CaseIterable>(_ kind: Kind.Type) -> (String) -> String?
    where Kind.RawValue == String {
        { value in
            guard Kind(rawValue: value) == nil else { return nil }
            let names = Kind.allCases.map { KeyPath.quoted($0.rawValue) }.joined(separator: ", ")
            return "must be one of \(names), found \(KeyPath.quoted(value))"
        }
    }

    static func checkDomain(_ domain: String) -> String? {
        if domain.isEmpty { return "must be the XMPP domain, e.g. \"rayo.example.com\"" }
        if domain.utf8.count > 1_023 { return "must be at most 1023 bytes long" }
        let bad = domain.unicodeScalars.contains { scalar in
            scalar.properties.isWhitespace || scalar.value < 0x20 || "@/\\\"'<>&:".unicodeScalars.contains(scalar)
        }
        if bad || domain.hasPrefix(".") || domain.hasSuffix(".") || domain.contains("..") {
            return "must be a domain name (letters, digits, '-' and dots; no '@', '/', ':' or spaces), found "
                + KeyPath.quoted(domain)
        }
        return nil
    }

    static func checkUserName(_ name: String) -> String? {
        if name.isEmpty { return "must not be empty" }
        if name.utf8.count > 1_023 { return "must be at most 1023 bytes long" }
        let bad = name.unicodeScalars.contains { scalar in
            scalar.properties.isWhitespace || scalar.value < 0x20 || scalar.value == 0x7F
                || "@/\"&'<>:".unicodeScalars.contains(scalar)
        }
        return bad
            ? "must be a JID local part: no spaces, control characters or any of @ / \" & ' < > :, found "
                + KeyPath.quoted(name)
            : nil
    }

    static func checkAliasName(_ name: String) -> String? {
        if name.isEmpty { return "must not be empty" }
        let allowed = name.unicodeScalars.allSatisfy { scalar in
            ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
                || scalar == "-" || scalar == "_"
        }
        if !allowed { return "may use only letters, digits, '-' and '_', found \(KeyPath.quoted(name))" }
        if consoleWords.contains(name) {
            return "\(KeyPath.quoted(name)) is a console command; choose another name"
        }
        return nil
    }

    static func checkProfile(_ profile: String) -> String? {
        if profile.isEmpty { return "must name a conference profile" }
        let bad = profile.unicodeScalars.contains {
            $0.properties.isWhitespace || $0.value < 0x20 || "@+{}".unicodeScalars.contains($0)
        }
        return bad ? "must be one word without '@', '+', braces or spaces, found \(KeyPath.quoted(profile))" : nil
    }

    static func checkSocketPath(_ path: String) -> String? {
        if !path.hasPrefix("/") { return "must be an absolute path, found \(KeyPath.quoted(path))" }
        if path.utf8.count > 107 { return "must be at most 107 bytes long (a Unix socket path limit)" }
        if path.unicodeScalars.contains(where: { $0.value < 0x20 }) { return "must not contain control characters" }
        return nil
    }

    static func checkMode(_ mode: String) -> String? {
        guard (3...4).contains(mode.count), mode.allSatisfy({ ("0"..."7").contains($0) }),
            let bits = UInt32(mode, radix: 8), bits <= 0o777
        else {
            return "must be octal permission bits such as \"0600\" or \"0660\", found \(KeyPath.quoted(mode))"
        }
        if bits & 0o600 != 0o600 { return "must let the owner read and write (0600 at least), found \(mode)" }
        if bits & 0o007 != 0 { return "must not give other users access to the admin console, found \(mode)" }
        return nil
    }

    static func checkReadableFile(_ path: String) -> String? {
        if path.isEmpty { return "must be a file path" }
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            return "cannot read \(KeyPath.quoted(path)): \(SystemError.describe(errno))"
        }
        defer { close(descriptor) }
        var info = stat()
        if fstat(descriptor, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR {
            return "\(KeyPath.quoted(path)) is a directory, not a PEM file"
        }
        return nil
    }
}
