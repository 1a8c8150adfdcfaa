import WritCrypto

/// Raises an anomaly when one token (or agent) collects too many denials in a short window — the signature of
/// an agent probing for what it can reach, or of a hijacked goal.
public struct DenialBurstDetector: AnomalyDetector {
    public let name = "denial-burst"
    private let threshold: Int
    private let windows: SlidingWindows<Bool>

    /// Creates the detector.
    /// - Parameters:
    ///   - threshold: denials within `window` that trigger (default 5).
    ///   - window: the sliding window (default 60 s).
    public init(threshold: Int = 5, window: Duration = .seconds(60)) {
        self.threshold = threshold
        windows = SlidingWindows(window: window)
    }

    public func observe(_ observation: RequestObservation) -> AnomalyReport? {
        guard observation.outcome == .denied, let key = observation.tokenID ?? observation.agent else { return nil }
        let (count, _, _) = windows.add(true, for: key, at: observation.time)
        guard count >= threshold else { return nil }
        windows.markTripped(key)
        return AnomalyReport(
            name,
            about: observation,
            detail: "\(count) denials within the window (threshold \(threshold))"
        )
    }
}

/// Raises an anomaly when a request's action or resource falls outside the usual set for the token's declared
/// intent (a baseline the host supplies, e.g. intent `fix-bug` → actions `read`, `write` on `repo/*`).
public struct IntentDeviationDetector: AnomalyDetector {
    /// What an intent usually touches.
    public struct Baseline: Sendable, Hashable {
        /// Actions usual for the intent.
        public var actions: Set<String>
        /// Resource prefixes usual for the intent (a resource matches when it starts with one of them).
        public var resourcePrefixes: [String]

        /// Creates a baseline.
        public init(actions: Set<String>, resourcePrefixes: [String] = [""]) {
            self.actions = actions
            self.resourcePrefixes = resourcePrefixes
        }
    }

    public let name = "intent-deviation"
    private let baselines: [String: Baseline]

    /// Creates the detector from baselines keyed by intent. Intents without a baseline are not judged.
    public init(baselines: [String: Baseline]) { self.baselines = baselines }

    public func observe(_ observation: RequestObservation) -> AnomalyReport? {
        guard let intent = observation.intent, let baseline = baselines[intent] else { return nil }
        let actionUsual = baseline.actions.contains(observation.action)
        let resourceUsual = baseline.resourcePrefixes.contains { observation.resource.hasPrefix($0) }
        guard !(actionUsual && resourceUsual) else { return nil }
        let what = actionUsual ? "resource '\(observation.resource)'" : "action '\(observation.action)'"
        return AnomalyReport(
            name,
            about: observation,
            detail: "\(what) is outside the usual set for intent '\(intent)'"
        )
    }
}

/// Raises an anomaly when one token (or agent) makes more requests in a window than its class plausibly needs.
public struct RateSpikeDetector: AnomalyDetector {
    public let name = "rate-spike"
    private let limit: Int
    private let windows: SlidingWindows<Bool>

    /// Creates the detector.
    /// - Parameters:
    ///   - limit: requests within `window` above which it triggers (default 100).
    ///   - window: the sliding window (default 10 s).
    public init(limit: Int = 100, window: Duration = .seconds(10)) {
        self.limit = limit
        windows = SlidingWindows(window: window, maximumEventsPerKey: limit + 1)
    }

    public func observe(_ observation: RequestObservation) -> AnomalyReport? {
        guard let key = observation.tokenID ?? observation.agent else { return nil }
        let (count, _, _) = windows.add(true, for: key, at: observation.time)
        guard count > limit else { return nil }
        windows.markTripped(key)
        return AnomalyReport(name, about: observation, detail: "more than \(limit) requests within the window")
    }
}

/// Raises an anomaly when a token is presented again after its task was completed, handed off or timed out: a
/// credential outliving its task is exactly what Writ exists to catch.
///
/// Every such request is denied (the token is revoked) and audited. The first `tolerated` presentations of a closed
/// token within `window` are not anomalies: a request already in flight when the task closed arrives late without
/// anything being wrong, and treating it as one would revoke a healthy agent's whole identity under the default
/// response. A presentation beyond them is reported, once per token block.
public struct UseAfterCloseDetector: AnomalyDetector {
    public let name = "use-after-close"
    private static let closingReasons: Set<String> = ["completed", "handed-off", "timeout"]
    private let tolerated: Int
    private let presentations: SlidingWindows<Bool>

    /// Creates the detector. It remembers 10,000 token blocks (the oldest are forgotten first).
    /// - Parameters:
    ///   - tolerated: late presentations of one closed token within `window` that are denied without an anomaly
    ///     (default 1: one in-flight request; 0 reports the first; clamped to 0…1,000).
    ///   - window: how long late presentations are counted together (default 60 s).
    public init(tolerated: Int = 1, window: Duration = .seconds(60)) {
        let tolerated = min(max(tolerated, 0), 1_000)
        self.tolerated = tolerated
        presentations = SlidingWindows(window: window, maximumKeys: 10_000, maximumEventsPerKey: tolerated + 1)
    }

    public func observe(_ observation: RequestObservation) -> AnomalyReport? {
        guard let reason = observation.revocationReason, Self.closingReasons.contains(reason) else { return nil }
        let key = observation.blockID?.description ?? observation.tokenID ?? observation.agent ?? ""
        let (count, _, alreadyTripped) = presentations.add(true, for: key, at: observation.time)
        guard count > tolerated, !alreadyTripped else { return nil }
        presentations.markTripped(key)
        let late = count == 1 ? "" : " (\(count) late requests within the window)"
        return AnomalyReport(name, about: observation, detail: "token used after its task ended (\(reason))\(late)")
    }
}

/// Raises an anomaly when one token touches many distinct resources in a short window (enumeration).
public struct ResourceProbeDetector: AnomalyDetector {
    public let name = "resource-probe"
    private let threshold: Int
    private let windows: SlidingWindows<Int>

    /// Creates the detector.
    /// - Parameters:
    ///   - threshold: distinct resources within `window` that trigger (default 20).
    ///   - window: the sliding window (default 60 s).
    public init(threshold: Int = 20, window: Duration = .seconds(60)) {
        self.threshold = threshold
        // Resources are kept as hashes, and only a few times the threshold per key: memory stays bounded
        // whatever the resource strings' length.
        windows = SlidingWindows(window: window, maximumEventsPerKey: max(threshold * 4, 16))
    }

    public func observe(_ observation: RequestObservation) -> AnomalyReport? {
        guard let key = observation.tokenID ?? observation.agent else { return nil }
        let (_, distinct, _) = windows.add(
            observation.resource.hashValue,
            for: key,
            at: observation.time,
            distinctFrom: threshold
        )
        guard distinct >= threshold else { return nil }
        windows.markTripped(key)
        return AnomalyReport(
            name,
            about: observation,
            detail: "\(distinct) distinct resources within the window (threshold \(threshold))"
        )
    }
}

/// Ready-made detector sets.
public enum AnomalyDetectors {
    /// Denial bursts, rate spikes, resource probes and use after close, with their default thresholds.
    /// Add an ``IntentDeviationDetector`` with your own baselines.
    public static func defaults() -> [any AnomalyDetector] {
        [DenialBurstDetector(), RateSpikeDetector(), ResourceProbeDetector(), UseAfterCloseDetector()]
    }
}
