import Logging
import NIOCore
import Switchboard

/// (c) `api status` round trips, one at a time, on a connection logged in to the switch simulator's event socket
/// (`switch-sim api`, a process of its own).
struct APIBenchmark {
    /// Who makes the calls.
    enum Client {
        /// `CommandSocket.api` from a task on the cooperative pool, as most code calls it.
        case commandSocket
        /// `CommandSocket.api` from a task that prefers the connection's event loop as its executor
        /// (`withTaskExecutorPreference(socket.executor)`).
        case commandSocketOnEventLoop
        /// ``BareCommandClient``: the same thread hops as `.commandSocket`, none of the library (the ceiling).
        case bare
    }

    struct Result {
        var calls: Int
        /// Round-trip times in nanoseconds, sorted.
        var samples: [Int64]
        /// CPU seconds of this process (the client) over the timed calls.
        var clientCPUSeconds: Double
        /// CPU seconds of the switch simulator over the timed calls.
        var serverCPUSeconds: Double

        func percentile(_ fraction: Double) -> Double {
            let index = Swift.min(samples.count - 1, Int((Double(samples.count) * fraction).rounded(.up)) - 1)
            return Double(samples[Swift.max(0, index)]) / 1000
        }
        var p50: Double { percentile(0.50) }
        var p99: Double { percentile(0.99) }
        var max: Double { Double(samples.last ?? 0) / 1000 }
        var clientMicrosecondsPerCall: Double { clientCPUSeconds * 1e6 / Double(calls) }
        var serverMicrosecondsPerCall: Double { serverCPUSeconds * 1e6 / Double(calls) }
    }

    let calls: Int
    let timeout: Duration
    let logger: Logger
    var client = Client.commandSocket

    func run() async throws -> Result {
        let server = try SwitchSimulator.start(["api"], timeout: timeout)
        do {
            guard let port = Int(try await server.expectLine("port").first ?? "") else {
                throw BenchFailure("the switch simulator printed no port")
            }
            let result: Result
            switch client {
            case .bare:
                let bare = try await BareCommandClient.connect(port: port, password: "ClueCon")
                result = try await measure(server) { String(buffer: try await bare.send("api status\n\n")) }
                await bare.close()
            case .commandSocket:
                let socket = try await CommandSocket.connect(port: port, logger: logger)
                result = try await measure(server) { try await socket.api("status") }
                await socket.close()
            case .commandSocketOnEventLoop:
                let socket = try await CommandSocket.connect(port: port, logger: logger)
                result = try await withTaskExecutorPreference(socket.executor) {
                    try await measure(server) { try await socket.api("status") }
                }
                await socket.close()
            }
            await server.finish()
            return result
        } catch {
            await server.finish()
            throw error
        }
    }

    private func measure(_ server: SimulatorProcess, _ call: () async throws -> String) async throws -> Result {
        for _ in 0..<min(calls, 2000) { _ = try await call() }
        var samples: [Int64] = []
        samples.reserveCapacity(calls)
        let serverBefore = try await server.cpuSeconds()
        let clientBefore = ProcessCPU.processSeconds()
        for _ in 0..<calls {
            let start = NIODeadline.now()
            let output = try await call()
            samples.append((NIODeadline.now() - start).nanoseconds)
            guard output.hasPrefix("UP ") else { throw BenchFailure("unexpected status output: \(output)") }
        }
        let clientAfter = ProcessCPU.processSeconds()
        let serverAfter = try await server.cpuSeconds()
        return Result(
            calls: calls,
            samples: samples.sorted(),
            clientCPUSeconds: clientAfter - clientBefore,
            serverCPUSeconds: serverAfter - serverBefore
        )
    }
}
