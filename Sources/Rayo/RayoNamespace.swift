/// Namespace URIs of Rayo (XEP-0327) and its component extensions.
public enum RayoNamespace {
    /// Calls, server commands and call events.
    public static let core = "urn:xmpp:rayo:1"
    /// Caps node of Rayo clients.
    public static let client = "urn:xmpp:rayo:client:1"
    /// Caps node of call entities.
    public static let call = "urn:xmpp:rayo:call:1"
    /// Caps node of mixer entities.
    public static let mixer = "urn:xmpp:rayo:mixer:1"
    /// Component commands (`stop`) and the `complete` wrapper.
    public static let ext = "urn:xmpp:rayo:ext:1"
    /// Completion reasons common to every component (`stop`, `hangup`, `error`).
    public static let extComplete = "urn:xmpp:rayo:ext:complete:1"
    /// Output component.
    public static let output = "urn:xmpp:rayo:output:1"
    /// Output completion reasons.
    public static let outputComplete = "urn:xmpp:rayo:output:complete:1"
    /// Input component.
    public static let input = "urn:xmpp:rayo:input:1"
    /// Input completion reasons.
    public static let inputComplete = "urn:xmpp:rayo:input:complete:1"
    /// Prompt component (output + input).
    public static let prompt = "urn:xmpp:rayo:prompt:1"
    /// Record component.
    public static let record = "urn:xmpp:rayo:record:1"
    /// Record completion reasons.
    public static let recordComplete = "urn:xmpp:rayo:record:complete:1"
    /// Call progress analysis (XEP-0341).
    public static let cpa = "urn:xmpp:rayo:cpa:1"
    /// Fax (XEP-0342).
    public static let fax = "urn:xmpp:rayo:fax:1"
    /// Fax completion reasons.
    public static let faxComplete = "urn:xmpp:rayo:fax:complete:1"
}
