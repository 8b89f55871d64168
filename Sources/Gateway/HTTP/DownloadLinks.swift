import Crypto
import DFSCore
import Foundation

/// Short-lived download URLs that carry their own authorisation, for clients that cannot send a header with a
/// plain link: the dashboard's *Download* with API keys on, so the browser streams the file to disk instead of
/// the page holding it in memory. `GET /files/{key}/download-link` (any valid key) hands one out.
///
/// A link names one file and an expiry, signed with HMAC-SHA256 under a secret this gateway process draws at
/// start: it cannot be stretched to another file or a later time, and every link dies with the process. The
/// expiry bounds when a download may *start*; one already streaming finishes.
struct DownloadLinkSigner: Sendable {
    /// How long a link can be used to start a download.
    static let lifetime: TimeInterval = 300
    private let secret: SymmetricKey

    init(secret: SymmetricKey = SymmetricKey(size: .bits256)) {
        self.secret = secret
    }

    /// The link for `key`, valid from `now` for `lifetime`.
    func link(for key: FileKey, now: Date = Date()) -> DownloadLink {
        let expires = Int64(now.timeIntervalSince1970.rounded(.down) + Self.lifetime)
        let mac = HMAC<SHA256>.authenticationCode(for: Self.message(key.rawValue, expires), using: secret)
        // An HMAC-SHA256 is 32 bytes, written (and read back in `accepts`) as 64 hex digits like a SHA-256 digest.
        let signature = SHA256Digest(bytes: Array(mac))!.hex
        return DownloadLink(
            path: "/download/\(key.rawValue)?expires=\(expires)&signature=\(signature)",
            expiresAt: Date(timeIntervalSince1970: TimeInterval(expires)))
    }

    /// Whether `claim` is a link this gateway signed for that file and it has not expired at `now`.
    func accepts(_ claim: DownloadLinkClaim, now: Date = Date()) -> Bool {
        guard let expires = Int64(claim.expires), TimeInterval(expires) > now.timeIntervalSince1970,
            let mac = SHA256Digest(hex: claim.signature)
        else { return false }
        // Constant-time comparison inside swift-crypto.
        return HMAC<SHA256>.isValidAuthenticationCode(
            mac.bytes, authenticating: Self.message(claim.fileKey, expires), using: secret)
    }

    private static func message(_ fileKey: String, _ expires: Int64) -> Data {
        Data("dfs-download-link\n\(fileKey)\n\(expires)".utf8)
    }
}

/// A signed download URL (a path on this gateway) and when it stops working.
struct DownloadLink: Sendable, Equatable {
    var path: String
    var expiresAt: Date
}

/// What a request to `/download/{key}` presented as a link: the file it asks for and the link's query values.
struct DownloadLinkClaim: Sendable, Equatable {
    var fileKey: String
    var expires: String
    var signature: String
}
