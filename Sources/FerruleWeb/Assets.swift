import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The pages, scripts, styles and catalogs, embedded in the binary at build time from
/// `Sources/FerruleWeb/Assets/` (SwiftPM's `embedInCode`): the line has no internet and the
/// station no build step.
enum Assets {
    struct File {
        var bytes: [UInt8]
        var contentType: String
    }

    static let files: [String: File] = [
        "index.html": File(bytes: PackageResources.index_html, contentType: "text/html; charset=utf-8"),
        "app.css": File(bytes: PackageResources.app_css, contentType: "text/css; charset=utf-8"),
        "app.js": File(bytes: PackageResources.app_js, contentType: "text/javascript; charset=utf-8"),
        "station.js": File(bytes: PackageResources.station_js, contentType: "text/javascript; charset=utf-8"),
        "pages.js": File(bytes: PackageResources.pages_js, contentType: "text/javascript; charset=utf-8"),
        "i18n.js": File(bytes: PackageResources.i18n_js, contentType: "text/javascript; charset=utf-8"),
        "messages-en.json": File(bytes: PackageResources.messages_en_json, contentType: "application/json; charset=utf-8"),
        "messages-zh.json": File(bytes: PackageResources.messages_zh_json, contentType: "application/json; charset=utf-8"),
        "favicon.svg": File(bytes: PackageResources.favicon_svg, contentType: "image/svg+xml")
    ]

    /// Scripts only from this station, no inline script, no framing by other sites.
    static let securityHeaders: HTTPFields = [
        .contentSecurityPolicy: "default-src 'self'; img-src 'self' data:; style-src 'self'; connect-src 'self'; frame-ancestors 'none'",
        HTTPField.Name("X-Content-Type-Options")!: "nosniff",
        HTTPField.Name("Referrer-Policy")!: "no-referrer"
    ]

    static func response(_ name: String) throws -> Response {
        guard let file = files[name] else {
            throw WebError(.notFound, "no asset '\(name.prefix(80))'", fix: "open the station page at /", key: "error.notFound")
        }
        var headers = securityHeaders
        headers[.contentType] = file.contentType
        // Small files, and a new build must show at once: revalidate every time.
        headers[.cacheControl] = "no-cache"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: file.bytes)))
    }
}

/// The message catalogs, for what the server draws itself (chart labels).
enum Catalog {
    static let byLanguage: [String: [String: String]] = [
        "en": decode(PackageResources.messages_en_json),
        "zh": decode(PackageResources.messages_zh_json)
    ]

    static func messages(_ language: String) -> [String: String] { byLanguage[language] ?? byLanguage["en"] ?? [:] }

    private static func decode(_ bytes: [UInt8]) -> [String: String] {
        (try? JSONDecoder().decode([String: String].self, from: Data(bytes))) ?? [:]
    }
}
