/// An authorisation request: who (principal) does what (action) to what (resource), in which context.
public struct PolicyRequest: Sendable {
    /// The entity making the request.
    public var principal: EntityUID
    /// The action, usually of type `Action`.
    public var action: EntityUID
    /// The entity acted upon.
    public var resource: EntityUID
    /// Request-time facts (`context.intent`, …).
    public var context: CedarRecord

    /// Creates a request.
    public init(principal: EntityUID, action: EntityUID, resource: EntityUID, context: CedarRecord = CedarRecord()) {
        self.principal = principal
        self.action = action
        self.resource = resource
        self.context = context
    }
}
