import Foundation

/// This process's memory, from `/proc/self/status`.
enum ProcessMemory {
    /// VmRSS in KiB.
    static func residentKiB() throws -> Int { try kibibytes("VmRSS", statusPath: "/proc/self/status") }

    /// VmRSS of another process in KiB.
    static func residentKiB(of pid: Int32) throws -> Int { try kibibytes("VmRSS", statusPath: "/proc/\(pid)/status") }

    /// RssAnon of another process in KiB: its resident heap and stacks, without the mapped program and libraries.
    static func anonymousKiB(of pid: Int32) throws -> Int {
        try kibibytes("RssAnon", statusPath: "/proc/\(pid)/status")
    }

    private static func kibibytes(_ field: String, statusPath: String) throws -> Int {
        guard let status = try? String(contentsOfFile: statusPath, encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("\(field):") }),
            let value = Int(line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first ?? "")
        else { throw BenchFailure("cannot read \(field) from \(statusPath)") }
        return value
    }
}

/// CPU time of this process and of single threads, from `/proc` (user + system, in clock ticks).
enum ProcessCPU {
    /// Clock ticks per second (`sysconf(_SC_CLK_TCK)`).
    static let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))

    /// CPU seconds of the whole process so far, user and system (`getrusage`, microseconds).
    static func processSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let user = Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
        return user + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
    }

    /// CPU seconds of another process (all its threads) so far; `nil` when it cannot be read.
    static func processSeconds(of pid: Int32) -> Double? { seconds(statPath: "/proc/\(pid)/stat") }

    /// CPU seconds of one thread of this process so far.
    static func threadSeconds(_ tid: Int) -> Double { seconds(statPath: "/proc/self/task/\(tid)/stat") ?? 0 }

    /// The id of the calling thread.
    static func currentThreadID() -> Int {
        let stat = (try? String(contentsOfFile: "/proc/thread-self/stat", encoding: .utf8)) ?? ""
        return Int(stat.prefix { $0 != " " }) ?? 0
    }

    private static func seconds(statPath: String) -> Double? {
        guard let stat = try? String(contentsOfFile: statPath, encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        // After "pid (comm) ": state is field 3; utime and stime are fields 14 and 15.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / ticksPerSecond
    }
}
