import Logging
import NIOCore
import Switchboard
import SwitchboardTesting

/// (c) `api status` round trips, one at a time, on a connection logged in to the simulated switch.
struct APIBenchmark {
    struct Result {
        var calls: Int
        /// Round-trip times in nanoseconds, sorted.
        var samples: [Int64]

        func percentile(_ fraction: Double) -> Double {
            let index = Swift.min(samples.count - 1, Int((Double(samples.count) * fraction).rounded(.up)) - 1)
            return Double(samples[Swift.max(0, index)]) / 1000
        }
        var p50: Double { percentile(0.50) }
        var p99: Double { percentile(0.99) }
        var max: Double { Double(samples.last ?? 0) / 1000 }
        var mean: Double { Double(samples.reduce(0, +)) / Double(samples.count) / 1000 }
    }

    let calls: Int
    let logger: Logger
    /// Whether the client is ``BareCommandClient`` (the ceiling) rather than Switchboard's `CommandSocket`.
    var bare = false

    func run() async throws -> Result {
        let fake = try await FakeFreeSWITCH.start()
        do {
            let result: Result
            if bare {
                let client = try await BareCommandClient.connect(port: fake.port, password: "ClueCon")
                result = try await measure { String(buffer: try await client.send("api status\n\n")) }
                await client.close()
            } else {
                let socket = try await CommandSocket.connect(port: fake.port, logger: logger)
                result = try await measure { try await socket.api("status") }
                await socket.close()
            }
            await fake.stop()
            return result
        } catch {
            await fake.stop()  // Closes the client's connection too.
            throw error
        }
    }

    private func measure(_ call: () async throws -> String) async throws -> Result {
        for _ in 0..<min(calls, 2000) { _ = try await call() }
        var samples: [Int64] = []
        samples.reserveCapacity(calls)
        for _ in 0..<calls {
            let start = NIODeadline.now()
            let output = try await call()
            samples.append((NIODeadline.now() - start).nanoseconds)
            guard output.hasPrefix("UP ") else { throw BenchFailure("unexpected status output: \(output)") }
        }
        return Result(calls: calls, samples: samples.sorted())
    }
}
