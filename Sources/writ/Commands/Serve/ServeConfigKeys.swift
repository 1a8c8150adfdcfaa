#if CLI
import Foundation

/// Refuses keys a `writ serve` configuration does not know, so a misspelt setting never silently falls back to its
/// default.
///
/// `known` maps a section to its keys: `""` is the top level, `"listen"` an object under it, and `"agentClasses[]"`
/// the objects of an array under it. Input that is not a JSON object is left to the decoder's own error.
func refuseUnknownKeys(in data: Data, known: [String: Set<String>], role: String, path: String) throws {
    guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return }
    func bad(_ key: String) -> CLIError {
        CLIError.input("--config '\(path)': '\(key)' is not a setting of `writ serve \(role)`")
    }
    for key in object.keys.sorted() where !(known[""]?.contains(key) ?? false) { throw bad(key) }
    for (section, keys) in known.sorted(by: { $0.key < $1.key }) where !section.isEmpty {
        if section.hasSuffix("[]") {
            let name = String(section.dropLast(2))
            for (index, item) in ((object[name] as? [Any]) ?? []).enumerated() {
                for key in ((item as? [String: Any])?.keys.sorted() ?? []) where !keys.contains(key) {
                    throw bad("\(name)[\(index)].\(key)")
                }
            }
        } else {
            for key in ((object[section] as? [String: Any])?.keys.sorted() ?? []) where !keys.contains(key) {
                throw bad("\(section).\(key)")
            }
        }
    }
}
#endif
