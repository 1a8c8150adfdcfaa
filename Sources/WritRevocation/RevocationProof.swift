/// The answer to "has every verifier applied revocation N?".
///
/// Built by ``RevocationStore/revocationProof(for:expecting:)`` from the watermarks verifiers report. A verifier
/// that fails closed when its data is stale (see ``RevocationSnapshot``) and whose watermark is at least N has
/// applied N; the proof is complete when that holds for every registered verifier and every expected one.
public struct RevocationProof: Hashable, Sendable, CustomStringConvertible {
    /// The revocation sequence asked about.
    public var sequence: UInt64
    /// Every watermark the store holds, sorted by verifier name.
    public var watermarks: [VerifierWatermark]
    /// Registered verifiers whose watermark is below ``sequence``.
    public var laggards: [VerifierWatermark]
    /// Expected verifiers that have never reported a watermark.
    public var unregistered: [String]

    /// Creates a proof.
    public init(
        sequence: UInt64,
        watermarks: [VerifierWatermark],
        laggards: [VerifierWatermark],
        unregistered: [String]
    ) {
        self.sequence = sequence
        self.watermarks = watermarks
        self.laggards = laggards
        self.unregistered = unregistered
    }

    /// Whether at least one verifier is registered, none lags and none expected is missing.
    ///
    /// With no verifier registered nothing has been proven, so this is `false`.
    public var isComplete: Bool { !watermarks.isEmpty && laggards.isEmpty && unregistered.isEmpty }

    /// A one-line summary naming the verifiers that lag.
    public var description: String {
        if isComplete { return "revocation #\(sequence) applied by all \(watermarks.count) verifiers" }
        if watermarks.isEmpty && unregistered.isEmpty { return "revocation #\(sequence): no verifier registered" }
        let behind = laggards.map(\.description) + unregistered.map { "\($0)@never" }
        return "revocation #\(sequence) not yet applied by: \(behind.joined(separator: ", "))"
    }
}
