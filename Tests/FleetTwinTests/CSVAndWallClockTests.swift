import FleetTwinTraces
import Testing

/// The CSV field splitter and the calendar-time parser the importers share.
@Suite struct CSVAndWallClockTests {
    @Test func quotedFieldsKeepCommasAndDoubledQuotes() {
        #expect(CSV.fields(#"a,"b,c","d""e", f ,"#) == ["a", "b,c", #"d"e"#, "f", ""])
        #expect(CSV.fields(",,") == ["", "", ""])
        #expect(CSV.fields("") == [""])
        #expect(CSV.fields(#"a,"open"#) == nil)
        #expect(CSV.fields(#" "spaced" ,x"#) == ["spaced", "x"])
    }

    @Test func wallClockTimesAreUTCSecondsWithTheirZones() {
        #expect(WallClock.parse("2017-10-03 02:28:31") == .init(seconds: 1_506_997_711, zoned: false))
        #expect(WallClock.parse("2017-10-03T02:28:31.5Z") == .init(seconds: 1_506_997_711.5, zoned: true))
        #expect(WallClock.parse("2017-10-03 10:00:00 PST")?.seconds == WallClock.parse("2017-10-03 18:00:00")?.seconds)
        #expect(WallClock.parse("2017-10-04 02:00:00+08:00")?.seconds == WallClock.parse("2017-10-03 18:00:00")?.seconds)
        #expect(WallClock.parse("2017-10-03 11:00:00 -0700")?.seconds == WallClock.parse("2017-10-03 18:00:00")?.seconds)
        #expect(WallClock.parse("2017-10-03 02:28") == .init(seconds: 1_506_997_680, zoned: false))
        for bad in ["None", "", "2017-13-01 00:00:00", "2017-10-03 02:28:31 XYZ", "2017/10/03 02:28:31"] {
            #expect(WallClock.parse(bad) == nil, "\(bad)")
        }
    }

    @Test func formattingInvertsParsing() {
        for text in ["1970-01-01 00:00:00", "2000-02-29 23:59:59", "2017-10-03 02:28:31", "1969-12-31 23:59:59", "2100-03-01 12:00:00"] {
            #expect(WallClock.format(WallClock.parse(text)!.seconds) == text)
        }
    }
}
