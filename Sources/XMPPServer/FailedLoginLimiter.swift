import NIOConcurrencyHelpers
import NIOCore

/// Counts failed logins per client address over a sliding window, so that password guessing from one address is
/// slowed to ``maxFailures`` attempts per window whatever the number of connections it opens.
///
/// Shared by every connection of a server; thread-safe. Memory is bounded: at most ``maxTrackedAddresses``
/// addresses are remembered, expired ones first to go.
final class FailedLoginLimiter: Sendable {
    let maxFailures: Int
    let window: TimeAmount
    let maxTrackedAddresses: Int
    private let failures = NIOLockedValueBox<[[UInt8]: [NIODeadline]]>([:])

    init(maxFailures: Int, window: Duration, maxTrackedAddresses: Int = 100_000) {
        self.maxFailures = maxFailures
        self.window = TimeAmount(window)
        self.maxTrackedAddresses = maxTrackedAddresses
    }

    /// Whether `address` has used up its failed attempts for now.
    func isBlocked(_ address: [UInt8], now: NIODeadline) -> Bool {
        failures.withLockedValue { failures in
            guard let times = failures[address] else { return false }
            return times.count(where: { $0 > now - window }) >= maxFailures
        }
    }

    /// Records one failed login from `address`.
    func recordFailure(_ address: [UInt8], now: NIODeadline) {
        failures.withLockedValue { failures in
            let horizon = now - window
            var times = failures[address, default: []].filter { $0 > horizon }
            times.append(now)
            if times.count > maxFailures { times.removeFirst(times.count - maxFailures) }
            failures[address] = times
            if failures.count > maxTrackedAddresses {
                failures = failures.filter { $0.value.last.map { $0 > horizon } ?? false }
                while failures.count > maxTrackedAddresses,
                    let oldest = failures.min(by: { ($0.value.last ?? horizon) < ($1.value.last ?? horizon) })
                {
                    failures.removeValue(forKey: oldest.key)
                }
            }
        }
    }
}
