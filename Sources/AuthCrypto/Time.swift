#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

public enum Time {
    /// Unix seconds (UTC).
    public static func now() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec)
    }

    /// `YYYY-MM-DDTHH:MM:SSZ`, computed with Howard Hinnant's civil-from-days (proleptic Gregorian).
    public static func rfc3339(_ unix: Int64) -> String {
        let days = unix >= 0 ? unix / 86400 : (unix - 86399) / 86400
        let secondsOfDay = unix - days * 86400
        let (y, m, d) = civil(fromDays: days)
        var out = [UInt8]()
        out.reserveCapacity(20)
        if y < 0 { out.append(UInt8(ascii: "-")) }
        append(abs(y), width: 4, to: &out)
        out.append(UInt8(ascii: "-"))
        append(m, width: 2, to: &out)
        out.append(UInt8(ascii: "-"))
        append(d, width: 2, to: &out)
        out.append(UInt8(ascii: "T"))
        append(secondsOfDay / 3600, width: 2, to: &out)
        out.append(UInt8(ascii: ":"))
        append(secondsOfDay / 60 % 60, width: 2, to: &out)
        out.append(UInt8(ascii: ":"))
        append(secondsOfDay % 60, width: 2, to: &out)
        out.append(UInt8(ascii: "Z"))
        return String(decoding: out, as: UTF8.self)
    }

    static func civil(fromDays z0: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097                                   // [0, 146096]
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365  // [0, 399]
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)             // [0, 365]
        let mp = (5 * doy + 2) / 153                                  // [0, 11]
        let d = doy - (153 * mp + 2) / 5 + 1                          // [1, 31]
        let m = mp < 10 ? mp + 3 : mp - 9                             // [1, 12]
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        return (y, m, d)
    }

    private static func append(_ value: Int64, width: Int, to out: inout [UInt8]) {
        var digits = [UInt8]()
        var v = value
        repeat {
            digits.append(UInt8(ascii: "0") + UInt8(v % 10))
            v /= 10
        } while v > 0
        if digits.count < width { out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: width - digits.count)) }
        out.append(contentsOf: digits.reversed())
    }
}
