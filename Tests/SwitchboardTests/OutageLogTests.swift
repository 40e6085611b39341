import Testing

@testable import Switchboard

@Suite("OutageLog: the first failure, reminders at a slowing pace, the recovery")
struct OutageLogTests {
    let start = ContinuousClock.now

    func at(_ seconds: Double) -> ContinuousClock.Instant { start + .milliseconds(Int64(seconds * 1000)) }

    @Test("a long outage logs its first failure, then reminders after 1, 2, 4, 8 and every 10 minutes")
    func reminders() {
        var log = OutageLog()
        var logged: [(Double, OutageLog.Decision)] = []
        // An attempt every 30 s for an hour, as the default backoff reaches its maximum.
        for attempt in 0...120 {
            let time = Double(attempt) * 30
            let decision = log.failed("FreeSWITCH at 127.0.0.1:8021 refused the connection", at: at(time))
            if decision != .quiet { logged.append((time, decision)) }
        }
        #expect(logged.map(\.0) == [0, 60, 180, 420, 900, 1500, 2100, 2700, 3300])
        #expect(logged[0].1 == .first)
        #expect(logged[1].1 == .reminder(downtime: .seconds(60), attempts: 3))
        #expect(logged[2].1 == .reminder(downtime: .seconds(180), attempts: 7))
    }

    @Test("a failure in other words is logged at once, and the reminders start over")
    func changedCause() {
        var log = OutageLog()
        #expect(log.failed("refused", at: at(0)) == .first)
        #expect(log.failed("refused", at: at(1)) == .quiet)
        #expect(log.failed("refused the password", at: at(2)) == .first)
        #expect(log.failed("refused the password", at: at(40)) == .quiet)
        // The outage and its attempts count from its first failure, whatever the words.
        #expect(log.failed("refused the password", at: at(62)) == .reminder(downtime: .seconds(62), attempts: 5))
    }

    @Test("success reports the outage from its first failure, counting itself; then the log starts afresh")
    func recovery() {
        var log = OutageLog()
        #expect(log.connected(at: at(0)) == nil)
        _ = log.failed("refused", at: at(10))
        _ = log.failed("refused", at: at(20))
        let summary = log.connected(at: at(144))
        #expect(summary?.downtime == .seconds(134))
        #expect(summary?.attempts == 3)
        #expect(!log.isOngoing)
        #expect(log.failed("refused", at: at(200)) == .first)
    }

    @Test("a lost connection starts the outage at the loss")
    func loss() {
        var log = OutageLog()
        log.lost(at: at(5))
        #expect(log.isOngoing)
        #expect(log.failed("refused", at: at(6)) == .first)
        let summary = log.connected(at: at(9))
        #expect(summary?.downtime == .seconds(4))
        #expect(summary?.attempts == 2)
    }
}
