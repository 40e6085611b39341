import SwitchboardDiagnostics

/// Words for `errno` values, for the daemon's messages.
enum SystemError {
    /// `no such file or directory`-style text for an `errno` value (``SwitchboardDiagnostics/SocketErrorDescription``
    /// words every value the daemon meets, files and sockets alike).
    static func describe(_ code: Int32) -> String {
        SocketErrorDescription(errno: code).reason
    }
}
