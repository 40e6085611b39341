import NIOCore

/// A block of IPv4 or IPv6 addresses in CIDR notation (`127.0.0.0/8`, `10.1.2.3`, `::1/128`, `fd00::/8`), as listed
/// in a listener's allow list.
///
/// An address without a prefix length is a single host (`/32` or `/128`). A block whose address has bits set past
/// its prefix (`10.0.0.1/8`) is refused rather than silently widened, since it is usually a typo. IPv4 blocks also
/// match IPv4-mapped IPv6 peers (`::ffff:127.0.0.1`), which is how a dual-stack socket reports IPv4 clients.
public struct CIDR: Sendable, Hashable, CustomStringConvertible {
    /// The network address: 4 bytes for IPv4, 16 for IPv6, in network order.
    public let address: [UInt8]
    /// The number of leading bits that must match.
    public let prefixLength: Int

    /// Parses `address[/prefix]`; throws ``XMPPServerError/Code-swift.struct/invalidCIDR`` saying what is wrong.
    public init(_ text: String) throws(XMPPServerError) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        let addressText = String(parts[0])
        let bytes: [UInt8]
        if addressText.contains(":") {
            guard let parsed = Self.parseIPv6(addressText) else {
                throw XMPPServerError(.invalidCIDR, "'\(text)': '\(addressText)' is not an IPv6 address")
            }
            bytes = parsed
        } else {
            guard let parsed = Self.parseIPv4(addressText) else {
                throw XMPPServerError(.invalidCIDR, "'\(text)': '\(addressText)' is not an IPv4 address")
            }
            bytes = parsed
        }
        let maximum = bytes.count * 8
        var prefix = maximum
        if parts.count == 2 {
            guard parts[1].allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int(parts[1]),
                (0...maximum).contains(value)
            else {
                throw XMPPServerError(
                    .invalidCIDR,
                    "'\(text)': the prefix length must be a number from 0 to \(maximum), not '\(parts[1])'"
                )
            }
            prefix = value
        }
        let masked = Self.mask(bytes, prefixLength: prefix)
        guard masked == bytes else {
            let suggestion = CIDR(uncheckedAddress: masked, prefixLength: prefix)
            throw XMPPServerError(
                .invalidCIDR,
                "'\(text)' has bits set past its /\(prefix) prefix; did you mean '\(suggestion)'?"
            )
        }
        self.init(uncheckedAddress: bytes, prefixLength: prefix)
    }

    private init(uncheckedAddress: [UInt8], prefixLength: Int) {
        self.address = uncheckedAddress
        self.prefixLength = prefixLength
    }

    /// Every IPv4 address (`0.0.0.0/0`).
    public static let anyIPv4 = CIDR(uncheckedAddress: [0, 0, 0, 0], prefixLength: 0)
    /// Every IPv6 address (`::/0`).
    public static let anyIPv6 = CIDR(uncheckedAddress: [UInt8](repeating: 0, count: 16), prefixLength: 0)

    /// Whether the address (4 or 16 bytes, network order) lies in this block.
    public func contains(addressBytes bytes: [UInt8]) -> Bool {
        var bytes = bytes
        if address.count == 4, bytes.count == 16, bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xFF,
            bytes[11] == 0xFF
        {
            bytes = Array(bytes[12...])
        }
        guard bytes.count == address.count else { return false }
        return Self.mask(bytes, prefixLength: prefixLength) == address
    }

    /// Whether a peer's socket address lies in this block; `false` for a Unix domain socket.
    public func contains(_ socketAddress: SocketAddress) -> Bool {
        guard let bytes = socketAddress.addressBytes else { return false }
        return contains(addressBytes: bytes)
    }

    /// The block in canonical notation (`10.0.0.0/8`, `fd00::/8`).
    public var description: String {
        "\(Self.format(address))/\(prefixLength)"
    }

    private static func mask(_ bytes: [UInt8], prefixLength: Int) -> [UInt8] {
        var result = bytes
        for index in result.indices {
            let bitsKept = max(0, min(8, prefixLength - index * 8))
            result[index] &= bitsKept == 0 ? 0 : UInt8(truncatingIfNeeded: 0xFF << (8 - bitsKept))
        }
        return result
    }

    static func parseIPv4(_ text: some StringProtocol) -> [UInt8]? {
        let fields = text.split(separator: ".", omittingEmptySubsequences: false)
        guard fields.count == 4 else { return nil }
        var bytes: [UInt8] = []
        for field in fields {
            guard !field.isEmpty, field.count <= 3, field.allSatisfy({ $0.isASCII && $0.isNumber }),
                let value = UInt8(field)
            else { return nil }
            bytes.append(value)
        }
        return bytes
    }

    static func parseIPv6(_ text: String) -> [UInt8]? {
        var text = Substring(text)
        if text.hasPrefix("["), text.hasSuffix("]") { text = text.dropFirst().dropLast() }
        let halves = text.split(separator: "::", omittingEmptySubsequences: false).map(String.init)
        guard halves.count <= 2 else { return nil }
        func groups(_ part: String, allowIPv4Tail: Bool) -> [UInt8]? {
            if part.isEmpty { return [] }
            var bytes: [UInt8] = []
            let fields = part.split(separator: ":", omittingEmptySubsequences: false)
            for (index, field) in fields.enumerated() {
                if allowIPv4Tail, index == fields.count - 1, field.contains(".") {
                    guard let tail = parseIPv4(field) else { return nil }
                    bytes += tail
                    continue
                }
                guard (1...4).contains(field.count), field.allSatisfy(\.isHexDigit),
                    let value = UInt16(field, radix: 16)
                else { return nil }
                bytes += [UInt8(value >> 8), UInt8(value & 0xFF)]
            }
            return bytes
        }
        if halves.count == 1 {
            guard let bytes = groups(halves[0], allowIPv4Tail: true), bytes.count == 16 else { return nil }
            return bytes
        }
        guard let head = groups(halves[0], allowIPv4Tail: false),
            let tail = groups(halves[1], allowIPv4Tail: true),
            head.count + tail.count <= 14
        else { return nil }
        return head + [UInt8](repeating: 0, count: 16 - head.count - tail.count) + tail
    }

    private static func format(_ bytes: [UInt8]) -> String {
        if bytes.count == 4 { return bytes.map(String.init).joined(separator: ".") }
        let groups = stride(from: 0, to: 16, by: 2).map { UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]) }
        // The longest run of two or more zero groups becomes "::" (RFC 5952).
        var bestStart = -1
        var bestLength = 1
        var index = 0
        while index < groups.count {
            guard groups[index] == 0 else {
                index += 1
                continue
            }
            let start = index
            while index < groups.count, groups[index] == 0 { index += 1 }
            if index - start > bestLength {
                bestStart = start
                bestLength = index - start
            }
        }
        let hex = groups.map { String($0, radix: 16) }
        guard bestStart >= 0 else { return hex.joined(separator: ":") }
        let head = hex[..<bestStart].joined(separator: ":")
        let tail = hex[(bestStart + bestLength)...].joined(separator: ":")
        return head + "::" + tail
    }
}

extension SocketAddress {
    /// The IP address as 4 or 16 bytes in network order; `nil` for a Unix domain socket.
    var addressBytes: [UInt8]? {
        switch self {
        case .v4: ipAddress.flatMap(CIDR.parseIPv4)
        case .v6: ipAddress.flatMap(CIDR.parseIPv6)
        case .unixDomainSocket: nil
        }
    }
}
