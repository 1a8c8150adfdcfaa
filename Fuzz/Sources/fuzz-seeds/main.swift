import Foundation
import FuzzSupport
import Writ
import WritAudit
import WritCrypto
import WritIdentity
import WritPolicy
import WritRevocation
import WritTokens

// Writes every harness's seeds to <folder>/<target>/<name> (default: Seeds), replacing the files it generates
// and leaving others alone, then shows what the fixtures decide so a stale fixture is noticed.
// Run from Fuzz/: ./make-seeds
let folder = URL(fileURLWithPath: CommandLine.arguments.dropFirst().first ?? "Seeds")
for (target, seeds) in Seeds.all.sorted(by: { $0.key < $1.key }) {
    let directory = folder.appendingPathComponent(target)
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    for seed in seeds {
        try Data(seed.bytes).write(to: directory.appendingPathComponent(seed.name))
    }
    print("\(target): \(seeds.count) seeds")
}

for seed in Seeds.all["FuzzGatekeeper"]! {
    let (token, proof) = Harness.split(Array(seed.bytes.dropFirst()))
    let decision = Deployment.authorize(Deployment.request(seed.bytes[0], token: token, proof: proof))
    print("FuzzGatekeeper/\(seed.name): \(decision)")
}
for request in CedarFixture.requests {
    let decision = CedarFixture.policySet.evaluate(request, entities: CedarFixture.entities)
    print("FuzzCedarPolicy/language.cedar, \(request.principal) \(request.action): \(decision)")
}
