/// The format's caps. Anything larger is rejected before any signature is checked.
public enum TokenLimits {
    /// The largest token accepted, in bytes (binary form).
    public static let maximumTokenBytes = 8192
    /// The most blocks a token may have (the issuer's block plus 15 delegations).
    public static let maximumBlocks = 16
    /// The most caveats one block may carry.
    public static let maximumCaveatsPerBlock = 8
    /// The most entries an audience, action or resource list may have.
    public static let maximumListCount = 16
    /// The longest audience, in bytes.
    public static let maximumAudienceLength = 255
    /// The longest action, in bytes.
    public static let maximumActionLength = 128
    /// The longest resource pattern, in bytes.
    public static let maximumResourceLength = 1024
    /// The longest task id, in bytes.
    public static let maximumTaskIDLength = 128
    /// The longest declared intent, in bytes of UTF-8.
    public static let maximumIntentLength = 512
    /// The longest request-attribute name or value in a caveat, in bytes.
    public static let maximumAttributeLength = 255
    /// The largest time value on the wire, in seconds (keeps millisecond arithmetic far from overflow).
    static let maximumSeconds: UInt64 = 1 << 40
}
