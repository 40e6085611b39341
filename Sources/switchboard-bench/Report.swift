/// The table printed at the end.
struct Report {
    struct Row {
        var name: String
        var measured: String
        var target: String
        /// `nil` for lines that only inform.
        var passed: Bool?
    }

    private(set) var rows: [Row] = []

    mutating func add(_ name: String, _ measured: String, target: String = "", passed: Bool? = nil) {
        rows.append(Row(name: name, measured: measured, target: target, passed: passed))
    }

    mutating func failed(_ name: String, _ reason: String, target: String) {
        rows.append(Row(name: name, measured: "did not finish", target: target, passed: false))
        notes.append("\(name): \(reason)")
    }

    var notes: [String] = []

    /// Adds another report's rows and notes after these.
    mutating func append(_ other: Report) {
        rows += other.rows
        notes += other.notes
    }

    var allPassed: Bool { rows.allSatisfy { $0.passed != false } }

    func render() -> String {
        let headers = ["benchmark", "measured", "target", "result"]
        let cells = rows.map { row in
            [row.name, row.measured, row.target, row.passed.map { $0 ? "PASS" : "FAIL" } ?? "info"]
        }
        var widths = headers.map(\.count)
        for line in cells {
            for (column, cell) in line.enumerated() { widths[column] = Swift.max(widths[column], cell.count) }
        }
        func format(_ line: [String]) -> String {
            line.enumerated().map { column, cell in
                let padding = String(repeating: " ", count: widths[column] - cell.count)
                // Numbers right-aligned, words left-aligned.
                return column == 1 ? padding + cell : cell + padding
            }.joined(separator: "  ").trimmingTrailingSpaces()
        }
        var text = format(headers) + "\n"
        text += widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ") + "\n"
        for line in cells { text += format(line) + "\n" }
        for note in notes { text += "note: \(note)\n" }
        return text
    }
}

/// Number formatting without Foundation's locale machinery.
enum Format {
    /// `1234567.8` → `1,234,568`.
    static func grouped(_ value: Double) -> String {
        let rounded = Int(value.rounded())
        let digits = String(rounded.magnitude)
        var result = ""
        for (index, digit) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { result.append(",") }
            result.append(digit)
        }
        return rounded < 0 ? "-" + result : result
    }

    /// `12.345` with `places` decimals → `12.3`.
    static func fixed(_ value: Double, places: Int) -> String {
        var scale = 1.0
        for _ in 0..<places { scale *= 10 }
        let scaled = Int((value * scale).rounded())
        let whole = scaled / Int(scale)
        guard places > 0 else { return grouped(Double(whole)) }
        let fraction = String(abs(scaled) % Int(scale))
        let sign = scaled < 0 && whole == 0 ? "-" : ""
        return sign + grouped(Double(whole)) + "." + String(repeating: "0", count: places - fraction.count) + fraction
    }

    /// Bytes per second as MB/s (10⁶ bytes).
    static func megabytes(_ bytesPerSecond: Double) -> String { fixed(bytesPerSecond / 1e6, places: 1) + " MB/s" }
}

extension String {
    fileprivate func trimmingTrailingSpaces() -> String {
        var text = Substring(self)
        while text.last == " " { text = text.dropLast() }
        return String(text)
    }
}
