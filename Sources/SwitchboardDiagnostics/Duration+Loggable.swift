extension Duration {
    /// The duration as an operator reads it in a log line: `250 ms`, `7.9 s`, `30 s`, `2 min 14 s`, `1 h 5 min`.
    public var loggable: String {
        let milliseconds = max(0, self / .milliseconds(1))
        if milliseconds < 1000 { return "\(Int(milliseconds.rounded())) ms" }
        if milliseconds < 59_950 {
            let tenths = Int((milliseconds / 100).rounded())
            return tenths % 10 == 0 ? "\(tenths / 10) s" : "\(tenths / 10).\(tenths % 10) s"
        }
        let seconds = Int((milliseconds / 1000).rounded())
        if seconds < 3600 {
            let rest = seconds % 60
            return rest == 0 ? "\(seconds / 60) min" : "\(seconds / 60) min \(rest) s"
        }
        let minutes = seconds / 60
        let rest = minutes % 60
        return rest == 0 ? "\(minutes / 60) h" : "\(minutes / 60) h \(rest) min"
    }
}
