import NIOConcurrencyHelpers

/// Weak references to objects, to check that the code under test frees them (no reference cycle keeps them).
///
/// ```swift
/// let sessions = WeakReferences()
/// // … in the handler: sessions.add(session)
/// // … once the calls ended:
/// #expect(sessions.living == 0)
/// ```
public final class WeakReferences: Sendable {
    private final class Box: @unchecked Sendable {
        weak var object: AnyObject?
        init(_ object: AnyObject) { self.object = object }
    }

    private let boxes = NIOLockedValueBox<[Box]>([])

    /// Creates an empty set.
    public init() {}

    /// Keeps a weak reference to `object`.
    public func add(_ object: AnyObject) { boxes.withLockedValue { $0.append(Box(object)) } }

    /// How many were added.
    public var count: Int { boxes.withLockedValue { $0.count } }

    /// How many are still alive.
    public var living: Int { boxes.withLockedValue { $0.filter { $0.object != nil }.count } }
}
