import AuthCore
import AuthCrypto

/// `audit [--tenant D] [--since T] [--limit N]`: newest events, T as Unix seconds or RFC 3339.
enum AuditCommands {
    static let commands = [
        Command(words: ["audit"], options: ["tenant", "since", "limit"],
                synopsis: "audit [--tenant D] [--since T] [--limit N]   (T: Unix seconds or RFC 3339)", run: list),
    ]

    static func list(_ ctx: Context) throws {
        let tenantID = ctx.args.optional("tenant") == nil ? nil : try ctx.tenant().id
        let since = try ctx.args.optional("since").map { raw throws(CLIError) -> Int64 in
            guard let t = parseTime(raw) else {
                throw .usage("--since must be Unix seconds or RFC 3339 (2026-07-01T12:00:00Z)")
            }
            return t
        }
        let limit = try ctx.args.int("limit") ?? 100
        let events = try ctx.db().audit.list(tenantID: tenantID, since: since, limit: limit)
        if ctx.json {
            Output.json(.array(events.map { e in
                .object([
                    ("id", .int(e.id)), ("at", .int(e.at)), ("event", .string(e.event)),
                    ("tenant_id", .opt(e.tenantID)), ("actor", .opt(e.actor)), ("ip", .opt(e.ip)),
                    ("detail", .opt(e.detail)),
                ])
            }))
        } else {
            Output.table(["AT", "EVENT", "TENANT", "ACTOR", "IP", "DETAIL"], events.map {
                [Time.rfc3339($0.at), $0.event, $0.tenantID ?? "-", $0.actor ?? "-", $0.ip ?? "-", $0.detail ?? ""]
            })
        }
    }

    /// Unix seconds, or RFC 3339 `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`.
    static func parseTime(_ raw: String) -> Int64? {
        if let seconds = Int64(raw) { return seconds }
        let b = Array(raw.utf8)
        func num(_ from: Int, _ count: Int) -> Int? {
            guard from + count <= b.count else { return nil }
            var v = 0
            for c in b[from..<from + count] {
                guard c >= 48 && c <= 57 else { return nil }
                v = v * 10 + Int(c - 48)
            }
            return v
        }
        guard b.count >= 20, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"),
              b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: "t") || b[10] == UInt8(ascii: " "),
              b[13] == UInt8(ascii: ":"), b[16] == UInt8(ascii: ":"),
              let y = num(0, 4), let mo = num(5, 2), let d = num(8, 2),
              let h = num(11, 2), let mi = num(14, 2), let s = num(17, 2),
              (1...12).contains(mo), (1...31).contains(d), h < 24, mi < 60, s < 61
        else { return nil }
        var i = 19
        if i < b.count, b[i] == UInt8(ascii: ".") {
            i += 1
            let start = i
            while i < b.count, b[i] >= 48, b[i] <= 57 { i += 1 }
            guard i > start else { return nil }
        }
        var offset = 0
        guard i < b.count else { return nil }
        if b[i] == UInt8(ascii: "Z") || b[i] == UInt8(ascii: "z") {
            i += 1
        } else if b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
            guard let oh = num(i + 1, 2), i + 3 < b.count, b[i + 3] == UInt8(ascii: ":"), let om = num(i + 4, 2),
                  oh < 24, om < 60 else { return nil }
            offset = (oh * 3600 + om * 60) * (b[i] == UInt8(ascii: "-") ? -1 : 1)
            i += 6
        } else {
            return nil
        }
        guard i == b.count else { return nil }
        return Int64(daysFromCivil(y, mo, d)) * 86400 + Int64(h * 3600 + mi * 60 + s) - Int64(offset)
    }

    /// Days since 1970-01-01 (Howard Hinnant's algorithm).
    static func daysFromCivil(_ y0: Int, _ m: Int, _ d: Int) -> Int {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }
}
