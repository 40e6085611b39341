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

    func run() async throws -> Result {
        let fake = try await FakeFreeSWITCH.start()
        let socket = try await CommandSocket.connect(port: fake.port, logger: logger)
        do {
            for _ in 0..<min(calls, 2000) { _ = try await socket.api("status") }
            var samples: [Int64] = []
            samples.reserveCapacity(calls)
            for _ in 0..<calls {
                let start = NIODeadline.now()
                let output = try await socket.api("status")
                samples.append((NIODeadline.now() - start).nanoseconds)
                precondition(output.hasPrefix("UP "), "unexpected status output: \(output)")
            }
            await socket.close()
            await fake.stop()
            return Result(calls: calls, samples: samples.sorted())
        } catch {
            await socket.close()
            await fake.stop()
            throw error
        }
    }
}
