import Logging
import Switchboard

/// A tiny IVR: answer, ask for up to four digits, store them in `switchboard_result`, beep, hang up.
///
/// It shows the shape of every outbound handler: one straight-line `run` whose application calls each return when
/// FreeSWITCH finished that application.
public struct DemoIVR: OutboundHandler, RegisteredHandler {
    /// `demo-ivr`.
    public static let name = "demo-ivr"
    /// What it does.
    public static let summary = "Answers, reads up to 4 digits into switchboard_result, beeps, hangs up"

    /// Creates the handler.
    public init() {}

    /// Runs the call.
    public func run(_ session: OutboundSession) async throws {
        try await session.answer()
        let digits = try await session.playAndGetDigits(
            minDigits: 1,
            maxDigits: 4,
            tries: 1,
            timeout: .seconds(5),
            terminators: "#",
            prompt: "tone_stream://%(200,0,440)",
            invalidPrompt: "silence_stream://250",
            variable: "demo_digits",
            regex: "\\d+"
        )
        session.logger.info("caller entered \(digits ?? "nothing")")
        try await session.set("switchboard_result", digits ?? "none")
        try await session.playback("tone_stream://%(100,0,880)")
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
