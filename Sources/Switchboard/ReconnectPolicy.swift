/// How an inbound listener waits between connection attempts: exponential backoff with jitter, so that many
/// listeners do not hammer a restarting FreeSWITCH in step.
public struct ReconnectPolicy: Sendable, Hashable {
    /// The wait after the first failure.
    public var initialDelay: Duration
    /// The longest wait.
    public var maxDelay: Duration
    /// The growth of the wait after each failure.
    public var multiplier: Double
    /// The fraction (0 to 1) of each wait that is randomized: a wait `d` becomes a value in `d·(1-j) … d`.
    public var jitter: Double

    /// Creates a policy. Defaults: 0.5 s, doubling, up to 30 s, 20 % jitter.
    public init(
        initialDelay: Duration = .milliseconds(500),
        maxDelay: Duration = .seconds(30),
        multiplier: Double = 2,
        jitter: Double = 0.2
    ) {
        self.initialDelay = initialDelay
        self.maxDelay = max(maxDelay, initialDelay)
        self.multiplier = max(1, multiplier)
        self.jitter = min(max(jitter, 0), 1)
    }

    /// The wait before the next attempt after `failures` consecutive failed attempts (0 for the first retry).
    public func delay<Generator: RandomNumberGenerator>(
        afterFailures failures: Int,
        using generator: inout Generator
    ) -> Duration {
        let initial = initialDelay / .milliseconds(1)
        let ceiling = maxDelay / .milliseconds(1)
        let exponential = min(ceiling, initial * pow(multiplier, Double(min(failures, 64))))
        let randomized = exponential * (1 - jitter * Double.random(in: 0...1, using: &generator))
        return .milliseconds(Int64(randomized.rounded()))
    }

    /// The wait before the next attempt, with the system random generator.
    public func delay(afterFailures failures: Int) -> Duration {
        var generator = SystemRandomNumberGenerator()
        return delay(afterFailures: failures, using: &generator)
    }

    /// The longest wait, jittered like the others: what a listener waits after FreeSWITCH refused its login, which
    /// does not fix itself within seconds.
    func longestDelay() -> Duration {
        var generator = SystemRandomNumberGenerator()
        let ceiling = maxDelay / .milliseconds(1)
        return .milliseconds(Int64((ceiling * (1 - jitter * Double.random(in: 0...1, using: &generator))).rounded()))
    }

    private func pow(_ base: Double, _ exponent: Double) -> Double {
        var result = 1.0
        for _ in 0..<Int(exponent) {
            result *= base
            if result.isInfinite { break }
        }
        return result
    }
}
