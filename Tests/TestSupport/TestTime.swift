import Foundation

/// How long this run's waits last: a test's deadline for something that does happen, however slowly.
///
/// The sanitizers slow every instruction several times over (`scripts/sanitize` sets `SWITCHBOARD_TEST_TIME_SCALE`
/// to 4 under the thread sanitizer, 2 under the address sanitizer); a deadline that holds on a normal run then runs
/// out on a correct program. Only waits scale: a limit the code under test must keep (a timeout it must fire within)
/// is the test's subject and stays as it is.
public enum TestTime {
    /// The number in `SWITCHBOARD_TEST_TIME_SCALE`, or 1 when it is unset or not a positive whole number.
    public static let scale: Int = {
        let value = ProcessInfo.processInfo.environment["SWITCHBOARD_TEST_TIME_SCALE"].flatMap(Int.init) ?? 1
        return max(1, value)
    }()

    /// `duration` times ``scale``.
    public static func scaled(_ duration: Duration) -> Duration { duration * scale }
}
