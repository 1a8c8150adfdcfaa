/// The answer to "has every verifier applied revocation N?".
///
/// Built by ``RevocationPublisher/revocationProof(for:expecting:)`` from the verifiers' signed watermark reports.
/// A verifier that fails closed when its data is stale (see ``RevocationSnapshot``) and whose verified report is
/// at least N has applied N; the proof is complete when that holds for every registered verifier and every
/// expected one.
public struct RevocationProof: Hashable, Sendable, CustomStringConvertible {
    /// The revocation sequence asked about.
    public var sequence: UInt64
    /// Every verified report, sorted by verifier name.
    public var watermarks: [VerifierWatermark]
    /// Verifiers whose verified report is below ``sequence``.
    public var laggards: [VerifierWatermark]
    /// Registered or expected verifiers with no verified report.
    public var unregistered: [String]
    /// Reports that were not counted, and why (a bad signature, a hash the feed does not hold).
    public var rejected: [String]

    /// Creates a proof.
    public init(
        sequence: UInt64,
        watermarks: [VerifierWatermark],
        laggards: [VerifierWatermark],
        unregistered: [String],
        rejected: [String] = []
    ) {
        self.sequence = sequence
        self.watermarks = watermarks
        self.laggards = laggards
        self.unregistered = unregistered
        self.rejected = rejected
    }

    /// Whether at least one verifier reported, none lags and none expected is missing.
    ///
    /// With no verified report nothing has been proven, so this is `false`.
    public var isComplete: Bool { !watermarks.isEmpty && laggards.isEmpty && unregistered.isEmpty }

    /// A one-line summary naming the verifiers that lag.
    public var description: String {
        if isComplete { return "revocation #\(sequence) applied by all \(watermarks.count) verifiers" }
        if watermarks.isEmpty && unregistered.isEmpty { return "revocation #\(sequence): no verifier registered" }
        let behind = laggards.map(\.description) + unregistered.map { "\($0)@never" }
        return "revocation #\(sequence) not yet applied by: \(behind.joined(separator: ", "))"
    }
}
