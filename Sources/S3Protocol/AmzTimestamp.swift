import Foundation

/// A request time as SigV4 writes it, `20130524T000000Z` (ISO 8601 basic, UTC, whole seconds).
///
/// Parsed and printed by hand: formatters are slow to build and not safe to share, and these formats are fixed.
struct AmzTimestamp: Equatable {
    /// `yyyyMMdd'T'HHmmss'Z'`, as in `x-amz-date` and the string to sign.
    let basic: String
    let date: Date

    /// `yyyyMMdd`, the date of the credential scope.
    var dateStamp: Substring { basic.prefix(8) }

    init?(basic text: String) {
        let bytes = Array(text.utf8)
        guard bytes.count == 16, bytes[8] == UInt8(ascii: "T"), bytes[15] == UInt8(ascii: "Z"),
            let year = decimal(bytes[0..<4]), let month = decimal(bytes[4..<6]), let day = decimal(bytes[6..<8]),
            let hour = decimal(bytes[9..<11]), let minute = decimal(bytes[11..<13]),
            let second = decimal(bytes[13..<15]),
            let date = utcDate(year: year, month: month, day: day, hour: hour, minute: minute, second: second)
        else { return nil }
        self.basic = text
        self.date = date
    }

    /// Parses an HTTP `Date` header in the RFC 7231 preferred form, `Fri, 24 May 2013 00:00:00 GMT`, or with the
    /// zone written `+0000` (as s3cmd and AWS's Signature Version 2 examples write it).
    init?(httpDate text: String) {
        let fields = text.split(separator: " ")
        guard fields.count == 6, fields[0].hasSuffix(","), fields[5] == "GMT" || fields[5] == "+0000",
            let day = decimal(fields[1].utf8), let month = monthNames.firstIndex(of: String(fields[2])),
            let year = decimal(fields[3].utf8)
        else { return nil }
        let clock = fields[4].split(separator: ":")
        guard clock.count == 3, let hour = decimal(clock[0].utf8), let minute = decimal(clock[1].utf8),
            let second = decimal(clock[2].utf8),
            let date = utcDate(year: year, month: month + 1, day: day, hour: hour, minute: minute, second: second)
        else { return nil }
        self.init(date)
    }

    /// The whole second at or before `date`.
    init(_ date: Date) {
        let seconds = Int64(date.timeIntervalSince1970.rounded(.down))
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = Int(seconds - days * 86_400)
        let (year, month, day) = civilDate(fromDaysSinceEpoch: days)
        func pad(_ value: Int, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        self.basic =
            pad(year, 4) + pad(month, 2) + pad(day, 2) + "T" + pad(secondOfDay / 3600, 2)
            + pad(secondOfDay / 60 % 60, 2) + pad(secondOfDay % 60, 2) + "Z"
        self.date = Date(timeIntervalSince1970: TimeInterval(seconds))
    }
}

private let monthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

private func decimal(_ digits: some Collection<UInt8>) -> Int? {
    guard !digits.isEmpty, digits.count <= 9 else { return nil }
    var value = 0
    for digit in digits {
        guard digit >= UInt8(ascii: "0"), digit <= UInt8(ascii: "9") else { return nil }
        value = value * 10 + Int(digit - UInt8(ascii: "0"))
    }
    return value
}

private func utcDate(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int) -> Date? {
    guard (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61 else { return nil }
    let days = daysSinceEpoch(year: year, month: month, day: day)
    guard civilDate(fromDaysSinceEpoch: days) == (year, month, day) else { return nil }
    return Date(timeIntervalSince1970: TimeInterval(days * 86_400 + Int64(hour * 3600 + minute * 60 + second)))
}

// Howard Hinnant's days-from-civil and civil-from-days, proleptic Gregorian.
private func daysSinceEpoch(year: Int, month: Int, day: Int) -> Int64 {
    let y = Int64(month <= 2 ? year - 1 : year)
    let era = (y >= 0 ? y : y - 399) / 400
    let yearOfEra = y - era * 400
    let m = Int64(month)
    let dayOfYear = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + Int64(day) - 1
    let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
    return era * 146_097 + dayOfEra - 719_468
}

private func civilDate(fromDaysSinceEpoch days: Int64) -> (Int, Int, Int) {
    let z = days + 719_468
    let era = (z >= 0 ? z : z - 146_096) / 146_097
    let dayOfEra = z - era * 146_097
    let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
    let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
    let mp = (5 * dayOfYear + 2) / 153
    let day = dayOfYear - (153 * mp + 2) / 5 + 1
    let month = mp < 10 ? mp + 3 : mp - 9
    let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
    return (Int(year), Int(month), Int(day))
}
