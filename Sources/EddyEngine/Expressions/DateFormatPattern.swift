/// A `DATE_FORMAT` pattern, compiled once at bind time: Flink's (Java `SimpleDateFormat`) letters, in
/// UTC. Written by hand: Foundation's `DateFormatter` is slow per row and its ICU patterns differ from
/// Java's in corner cases; this covers the letters streaming users write.
///
/// | letters | meaning | example |
/// |---|---|---|
/// | `yyyy`, `yy`, `y` | year (four digits, last two, as is) | 2026, 26 |
/// | `MM`, `M`, `MMM`, `MMMM` | month (padded, as is, short name, full name) | 03, 3, Mar, March |
/// | `dd`, `d` | day of month | 07, 7 |
/// | `D` | day of year | 66 |
/// | `HH`, `H` | hour 0-23 | 09, 9 |
/// | `hh`, `h` | hour 1-12 | 09, 9 |
/// | `a` | AM / PM | PM |
/// | `mm`, `m` | minute | 05, 5 |
/// | `ss`, `s` | second | 08, 8 |
/// | `SSS`, `SS`, `S` | milliseconds (three digits; fewer letters truncate) | 123, 12, 1 |
/// | `E`…`EEE`, `EEEE` | weekday (short, full) | Tue, Tuesday |
/// | `'text'` | literal text (`''` is a quote) | `'T'` |
///
/// Other ASCII letters are refused (they mean something in Java that Eddy does not do, such as time
/// zones `z`/`X`: Eddy's timestamps are UTC); every other character is copied.
public struct DateFormatPattern: Sendable, Hashable, CustomStringConvertible {
    enum Piece: Sendable, Hashable {
        case literal([UInt8])
        /// A field letter repeated `width` times.
        case field(Character, width: Int)
    }

    let pieces: [Piece]
    public let description: String

    static let letters: Set<Character> = ["y", "M", "d", "D", "H", "h", "a", "m", "s", "S", "E"]
    static let monthNames = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
                             "October", "November", "December"]
    static let dayNames = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]

    /// Compiles `pattern`; the error names the first letter it cannot format.
    public init(_ pattern: String) throws(EngineError) {
        description = pattern
        var pieces: [Piece] = []
        var literal: [UInt8] = []
        let characters = Array(pattern)
        var index = 0
        func flush() {
            if !literal.isEmpty { pieces.append(.literal(literal)) }
            literal = []
        }
        while index < characters.count {
            let character = characters[index]
            if character == "'" {
                // 'text' is literal; '' is one quote, inside or outside a quoted run.
                if index + 1 < characters.count && characters[index + 1] == "'" {
                    literal.append(UInt8(ascii: "'"))
                    index += 2
                    continue
                }
                index += 1
                var closed = false
                while index < characters.count {
                    if characters[index] == "'" {
                        if index + 1 < characters.count && characters[index + 1] == "'" {
                            literal.append(UInt8(ascii: "'"))
                            index += 2
                            continue
                        }
                        closed = true
                        index += 1
                        break
                    }
                    literal += Array(String(characters[index]).utf8)
                    index += 1
                }
                guard closed else { throw .plan("DATE_FORMAT pattern '\(pattern)' has an unclosed quote") }
                continue
            }
            if character.isASCII && character.isLetter {
                guard Self.letters.contains(character) else {
                    throw .plan("DATE_FORMAT pattern '\(pattern)' uses '\(character)', which Eddy does not format; letters: y M d D H h a m s S E (UTC), text in quotes")
                }
                var width = 1
                while index + width < characters.count && characters[index + width] == character { width += 1 }
                flush()
                pieces.append(.field(character, width: width))
                index += width
                continue
            }
            literal += Array(String(character).utf8)
            index += 1
        }
        flush()
        self.pieces = pieces
    }

    /// Appends `millis` (epoch milliseconds, UTC) formatted.
    func append(_ millis: Int64, to bytes: inout [UInt8]) {
        let (days, millisOfDay) = floorDivMod(millis, 86_400_000)
        let (year, month, day) = civilFromDays(days)
        for piece in pieces {
            switch piece {
            case .literal(let text):
                bytes += text
            case .field(let letter, let width):
                switch letter {
                case "y":
                    if width == 2 {
                        number(floorDivMod(year, 100).1, width: 2, to: &bytes)
                    } else {
                        if year < 0 { bytes.append(UInt8(ascii: "-")) }
                        number(Int64(year.magnitude), width: width, to: &bytes)
                    }
                case "M":
                    if width >= 3 {
                        let name = Self.monthNames[Int(month) - 1]
                        bytes += Array((width == 3 ? String(name.prefix(3)) : name).utf8)
                    } else {
                        number(month, width: width, to: &bytes)
                    }
                case "d": number(day, width: width, to: &bytes)
                case "D": number(days - daysFromCivil(year, 1, 1) + 1, width: width, to: &bytes)
                case "H": number(millisOfDay / 3_600_000, width: width, to: &bytes)
                case "h":
                    let hour = millisOfDay / 3_600_000 % 12
                    number(hour == 0 ? 12 : hour, width: width, to: &bytes)
                case "a": bytes += Array((millisOfDay < 43_200_000 ? "AM" : "PM").utf8)
                case "m": number(millisOfDay / 60_000 % 60, width: width, to: &bytes)
                case "s": number(millisOfDay / 1000 % 60, width: width, to: &bytes)
                case "S":
                    // Java pads milliseconds to the width; fewer than three letters keep the leading digits.
                    let ms = millisOfDay % 1000
                    if width >= 3 {
                        number(ms, width: width, to: &bytes)
                    } else {
                        number(ms / (width == 1 ? 100 : 10), width: width, to: &bytes)
                    }
                case "E":
                    // 1970-01-01 was a Thursday (index 3 from Monday).
                    let name = Self.dayNames[Int(floorDivMod(days + 3, 7).1)]
                    bytes += Array((width >= 4 ? name : String(name.prefix(3))).utf8)
                default:
                    preconditionFailure("letters are checked when the pattern is compiled")
                }
            }
        }
    }

    private func number(_ value: Int64, width: Int, to bytes: inout [UInt8]) {
        let digits = String(value)
        if digits.count < width { bytes += Array(repeating: UInt8(ascii: "0"), count: width - digits.count) }
        bytes += Array(digits.utf8)
    }
}
