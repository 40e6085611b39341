import Logging
import Switchboard
import SwitchboardDiagnostics

/// A tiny IVR: answer, play a prompt and read digits, store them in a channel variable, beep, hang up.
///
/// It shows the shape of every outbound handler: one straight-line `run` whose application calls each return when
/// FreeSWITCH finished that application. What it plays and reads is its ``Settings``, given per listener in the
/// config file's `settings` object.
public struct DemoIVR: OutboundHandler, RegisteredHandler {
    /// `demo-ivr`.
    public static let name = "demo-ivr"
    /// What it does.
    public static let summary = "Answers, reads digits into switchboard_result (see its settings), beeps, hangs up"

    /// The listener's `settings` object; every key may be left out and has the default given.
    ///
    /// ```json
    /// "settings": { "prompt": "ivr/ivr-enter_ext.wav", "maxDigits": 4, "timeoutSeconds": 8, "tries": 3 }
    /// ```
    public struct Settings: HandlerSettings, Hashable {
        /// `prompt`: what plays before the digits are read. Default a 440 Hz tone, `tone_stream://%(200,0,440)`.
        public var prompt = "tone_stream://%(200,0,440)"
        /// `invalidPrompt`: what plays after input that does not match. Default `silence_stream://250`.
        public var invalidPrompt = "silence_stream://250"
        /// `endPrompt`: what plays once the digits are stored. Default an 880 Hz beep, `tone_stream://%(100,0,880)`.
        public var endPrompt = "tone_stream://%(100,0,880)"
        /// `minDigits`: the fewest digits accepted, 0 to `maxDigits`. Default 1.
        public var minDigits = 1
        /// `maxDigits`: the most digits read, 1 to 128. Default 4.
        public var maxDigits = 4
        /// `tries`: how often the prompt plays before giving up, 1 to 20. Default 1.
        public var tries = 1
        /// `timeoutSeconds`: how long FreeSWITCH waits for the digits of each try, more than 0 and at most 3600
        /// seconds. Default 5 seconds.
        public var timeout: Duration = .seconds(5)
        /// `terminators`: the keys that end the input early, from `0`–`9`, `*` and `#`. Default `#`.
        public var terminators = "#"
        /// `resultVariable`: the channel variable that receives the digits, or `none`. Default `switchboard_result`.
        public var resultVariable = "switchboard_result"

        /// A `timeoutSeconds` that could not become a ``timeout``, reported by ``validate()``.
        private var invalidTimeoutSeconds: Double?

        /// Every setting at its default.
        public init() {}

        /// Reads the keys that are present; the others keep their defaults.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            prompt = try container.decodeIfPresent(String.self, forKey: .prompt) ?? prompt
            invalidPrompt = try container.decodeIfPresent(String.self, forKey: .invalidPrompt) ?? invalidPrompt
            endPrompt = try container.decodeIfPresent(String.self, forKey: .endPrompt) ?? endPrompt
            minDigits = try container.decodeIfPresent(Int.self, forKey: .minDigits) ?? minDigits
            maxDigits = try container.decodeIfPresent(Int.self, forKey: .maxDigits) ?? maxDigits
            tries = try container.decodeIfPresent(Int.self, forKey: .tries) ?? tries
            if let seconds = try container.decodeIfPresent(Double.self, forKey: .timeoutSeconds) {
                if seconds > 0, seconds <= 3600 {
                    timeout = .milliseconds(Int64((seconds * 1000).rounded(.up)))
                } else {
                    invalidTimeoutSeconds = seconds
                }
            }
            terminators = try container.decodeIfPresent(String.self, forKey: .terminators) ?? terminators
            resultVariable = try container.decodeIfPresent(String.self, forKey: .resultVariable) ?? resultVariable
        }

        /// Ranges, and values FreeSWITCH would split or misread.
        public func validate() -> [SettingsProblem] {
            var problems: [SettingsProblem] = []
            for (key, value) in [("prompt", prompt), ("invalidPrompt", invalidPrompt), ("endPrompt", endPrompt)] {
                if value.isEmpty || value.contains(where: { $0 == " " || $0 == "\t" || $0 == "'" }) {
                    problems.append(
                        SettingsProblem(
                            key: key,
                            "must be one sound (a file or tone_stream://…) without spaces or quotes"
                        )
                    )
                }
            }
            if !(1...128).contains(maxDigits) {
                problems.append(SettingsProblem(key: "maxDigits", "must be from 1 to 128, found \(maxDigits)"))
            }
            if (1...128).contains(maxDigits), !(0...maxDigits).contains(minDigits) {
                problems.append(
                    SettingsProblem(key: "minDigits", "must be from 0 to maxDigits (\(maxDigits)), found \(minDigits)")
                )
            }
            if !(1...20).contains(tries) {
                problems.append(SettingsProblem(key: "tries", "must be from 1 to 20, found \(tries)"))
            }
            if let invalid = invalidTimeoutSeconds {
                let found = invalid.rounded() == invalid && abs(invalid) < 1e15 ? String(Int(invalid)) : String(invalid)
                problems.append(
                    SettingsProblem(key: "timeoutSeconds", "must be more than 0 and at most 3600, found \(found)")
                )
            }
            if terminators.isEmpty || !terminators.allSatisfy({ "0123456789*#".contains($0) }) {
                problems.append(
                    SettingsProblem(key: "terminators", "must be one or more of 0-9, * and #, found \"\(terminators)\"")
                )
            }
            if resultVariable.isEmpty
                || resultVariable.contains(where: { $0 == "=" || $0 == " " || $0 == "\t" || $0 == "'" })
            {
                problems.append(
                    SettingsProblem(
                        key: "resultVariable",
                        "must be a channel variable name: one word without '=' or quotes"
                    )
                )
            }
            return problems
        }

        enum CodingKeys: String, CodingKey {
            case prompt, invalidPrompt, endPrompt, minDigits, maxDigits, tries, timeoutSeconds, terminators
            case resultVariable
        }
    }

    /// What this handler plays and reads.
    public let settings: Settings

    /// Creates the handler with `settings`.
    public init(settings: Settings) { self.settings = settings }

    /// Creates the handler with the default settings.
    public init() { self.init(settings: Settings()) }

    /// `false`: it reads the result of each application, never an event, so its calls need no read task.
    public var handlesEvents: Bool { false }

    /// Runs the call.
    public func run(_ session: OutboundSession) async throws {
        try await session.answer()
        let digits = try await session.playAndGetDigits(
            minDigits: settings.minDigits,
            maxDigits: settings.maxDigits,
            tries: settings.tries,
            timeout: settings.timeout,
            terminators: settings.terminators,
            prompt: settings.prompt,
            invalidPrompt: settings.invalidPrompt,
            variable: "demo_digits",
            regex: "\\d+"
        )
        session.logger.info("caller entered \(digits?.loggable ?? "nothing")")
        try await session.set(settings.resultVariable, digits ?? "none")
        try await session.playback(settings.endPrompt)
        try await session.hangup(cause: "NORMAL_CLEARING")
    }
}

/// Every handler this package ships, for a program's registration list.
public enum BundledHandlers {
    /// The inbound handlers.
    public static let inbound: [any (InboundHandler & RegisteredHandler).Type] = [EventLogger.self]
    /// The outbound handlers.
    public static let outbound: [any (OutboundHandler & RegisteredHandler).Type] = [DemoIVR.self]
}
