extension SecureBytes {
    /// Decodes canonical unpadded base64url text straight into zeroised-on-release storage (no temporary array
    /// holds the secret); `nil` for anything else.
    package init?(base64URL text: String) {
        var text = text
        let decoded: SecureBytes? = text.withUTF8 { utf8 in
            guard let count = Base64URL.decodedCount(characters: utf8.count) else { return nil }
            var valid = false
            let bytes = SecureBytes(count: count) { valid = Base64URL.decode(utf8: utf8, into: $0) }
            return valid ? bytes : nil
        }
        guard let decoded else { return nil }
        self = decoded
    }

    /// The bytes as unpadded base64url, encoded from their own storage (the text itself is as secret as the bytes).
    package var base64URLEncoded: String { withUnsafeBytes { Base64URL.encode(raw: $0) } }
}
