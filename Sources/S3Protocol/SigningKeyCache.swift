import Crypto
import Synchronization

/// Derived SigV4 keys by access key, date and region: four HMACs saved on every request after the first of the day.
final class SigningKeyCache: Sendable {
    /// Enough for every key of a deployment over a few days; past it the cache starts over rather than grow.
    private static let capacity = 1024

    private struct Entry {
        let secretAccessKey: String
        let key: SymmetricKey
    }

    private let entries = Mutex<[String: Entry]>([:])

    func key(for credential: S3Credential, dateStamp: some StringProtocol, region: String) -> SymmetricKey {
        let cacheKey = "\(credential.accessKeyID)/\(dateStamp)/\(region)"
        // The secret is compared too, so a key whose secret changed never signs with the old one.
        if let entry = entries.withLock({ $0[cacheKey] }), entry.secretAccessKey == credential.secretAccessKey {
            return entry.key
        }
        // Derived outside the lock: HMACs are the slow part, and two threads deriving the same key is harmless.
        let key = SigV4Canonical.signingKey(
            secretAccessKey: credential.secretAccessKey, dateStamp: dateStamp, region: region)
        entries.withLock { entries in
            if entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
            entries[cacheKey] = Entry(secretAccessKey: credential.secretAccessKey, key: key)
        }
        return key
    }
}
