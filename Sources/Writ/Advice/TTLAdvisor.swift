public import WritAudit
import WritCrypto

/// Recommends the smallest workable token lifetime per agent class from audit history.
///
/// The rule: for each task step, *use* is the time from the step's first issued token to the last time any of
/// its tokens (refreshed or delegated ones included) was used at a service. Per class, the recommended default
/// TTL is the 99th percentile of step use × ``margin`` (rounded up to a whole second, at least 1 s); the
/// recommended maximum TTL is the longest step use × ``margin`` (at least the default); the refresh fraction is
/// 0.75, lowered to 0.66 when steps needed refreshes on average (to leave room for retries before expiry).
/// Steps whose tokens were never used are counted and reported: their tokens were not needed at all.
public struct TTLAdvisor: Sendable {
    /// What the advice is for one class.
    public struct Advice: Sendable, Hashable, Codable {
        /// The agent class.
        public let agentClass: String
        /// Steps whose tokens were used.
        public let steps: Int
        /// Steps whose tokens were never used.
        public let unusedSteps: Int
        /// Median step use, in seconds.
        public let medianUseSeconds: Double
        /// 99th-percentile step use, in seconds.
        public let p99UseSeconds: Double
        /// Longest step use, in seconds.
        public let maximumUseSeconds: Double
        /// Mean refreshes per step.
        public let meanRefreshes: Double
        /// The median TTL the authority issued, in seconds, when the log says.
        public let issuedTTLSeconds: Double?
        /// Recommended default TTL, in whole seconds (`nil` when no step of the class used its token: there is
        /// nothing to base it on).
        public let recommendedDefaultTTLSeconds: Int64?
        /// Recommended maximum TTL, in whole seconds.
        public let recommendedMaximumTTLSeconds: Int64?
        /// Recommended refresh fraction.
        public let recommendedRefreshFraction: Double?
    }

    /// The safety margin applied to observed use (default 1.5; at least 1).
    public let margin: Double

    /// Creates an advisor.
    ///
    /// A margin below 1, or not a number, is taken as 1. Recommendations are whole seconds and saturate at
    /// `Int64.max` (an infinite or enormous margin never traps); a command line should refuse such margins
    /// before they get here.
    public init(margin: Double = 1.5) { self.margin = margin.isNaN ? 1 : max(1, margin) }

    /// Advice per agent class, sorted by class name, from the events of one or more audit logs.
    public func advise(_ events: some Sequence<AuditEvent>) -> [Advice] {
        var steps: [String: Step] = [:]
        var stepOfToken: [String: String] = [:]
        let ordered = events.sorted {
            ($0.time ?? Timestamp(millisecondsSinceEpoch: 0)) < ($1.time ?? Timestamp(millisecondsSinceEpoch: 0))
        }
        for event in ordered where event.kind == .issued || event.kind == .refreshed {
            guard let token = event.tokenID, let task = event.task, let step = event.step, let time = event.time,
                let agentClass = event.attributes["class"]
            else { continue }
            let key = task + "\u{0}" + step
            stepOfToken[token] = key
            var entry = steps[key] ?? Step(agentClass: agentClass, start: time)
            if event.kind == .refreshed { entry.refreshes += 1 }
            // The authority writes whole milliseconds; anything else (a negative, "nan", "1e400") is not a TTL.
            if let ms = event.attributes["ttl-ms"].flatMap({ Int64($0) }), ms >= 0 {
                entry.ttls.append(Double(ms) / 1000)
            }
            steps[key] = entry
        }
        for event in ordered where event.kind == .used {
            guard let token = event.tokenID, let key = stepOfToken[token], let time = event.time else { continue }
            if steps[key]?.lastUse.map({ $0 < time }) ?? true { steps[key]?.lastUse = time }
        }
        var byClass: [String: [Step]] = [:]
        for step in steps.values { byClass[step.agentClass, default: []].append(step) }
        return byClass.keys.sorted().map { name in
            let all = byClass[name]!
            let used = all.filter { $0.lastUse != nil }
            let uses = used.map {
                Double($0.start.duration(to: $0.lastUse!).components.seconds)
                    + Double($0.start.duration(to: $0.lastUse!).components.attoseconds) / 1e18
            }.sorted()
            let p99 = Self.percentile(uses, 0.99)
            let maximum = uses.last ?? 0
            let meanRefreshes = all.isEmpty ? 0 : Double(all.map(\.refreshes).reduce(0, +)) / Double(all.count)
            let ttls = all.flatMap(\.ttls).sorted()
            let measured = !used.isEmpty
            let recommendedDefault = Self.wholeSecondsRoundedUp(p99 * margin)
            return Advice(
                agentClass: name,
                steps: used.count,
                unusedSteps: all.count - used.count,
                medianUseSeconds: Self.percentile(uses, 0.5),
                p99UseSeconds: p99,
                maximumUseSeconds: maximum,
                meanRefreshes: meanRefreshes,
                issuedTTLSeconds: ttls.isEmpty ? nil : Self.percentile(ttls, 0.5),
                recommendedDefaultTTLSeconds: measured ? recommendedDefault : nil,
                recommendedMaximumTTLSeconds: measured
                    ? max(recommendedDefault, Self.wholeSecondsRoundedUp(maximum * margin)) : nil,
                recommendedRefreshFraction: measured ? (meanRefreshes >= 1 ? 0.66 : 0.75) : nil
            )
        }
    }

    private struct Step {
        var agentClass: String
        var start: Timestamp
        var lastUse: Timestamp?
        var refreshes = 0
        var ttls: [Double] = []
    }

    /// `seconds` rounded up to a whole second, at least 1, saturating at `Int64.max` (total: no trap for an
    /// infinite, enormous or NaN product; NaN — 0 × ∞ — is taken as no use).
    static func wholeSecondsRoundedUp(_ seconds: Double) -> Int64 {
        guard !seconds.isNaN else { return 1 }
        let rounded = seconds.rounded(.up)
        // 2^63 is exactly representable; every Double below it converts without trapping.
        guard rounded < 9_223_372_036_854_775_808.0 else { return .max }
        guard rounded > 1 else { return 1 }
        return Int64(rounded)
    }

    /// Nearest-rank percentile of sorted values (0 for none).
    static func percentile(_ sorted: [Double], _ p: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        let fraction = p.isNaN ? 0 : min(max(p, 0), 1)  // keeps the rank within 0…count: a total conversion
        let rank = Int((fraction * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }
}
