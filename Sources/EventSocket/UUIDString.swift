/// Random (version 4) UUIDs in FreeSWITCH's lowercase text form, for `Event-UUID`, `Job-UUID` and
/// `origination_uuid`.
public enum UUIDString {
    /// A new random UUID such as `9b0726bd-c3ca-4cca-954d-ac214aca84a4`.
    ///
    /// Two reads of the system generator and one 36-byte string: a call makes one per application it runs.
    public static func random() -> String {
        var generator = SystemRandomNumberGenerator()
        var high = generator.next()
        var low = generator.next()
        high = high & ~(0xF << 12) | (0x4 << 12)  // version 4
        low = low & ~(0x3 << 62) | (0x2 << 62)  // variant 10
        return String(unsafeUninitializedCapacity: 36) { text in
            let digits: StaticString = "0123456789abcdef"
            var position = 0
            func write(_ value: UInt64, nibbles: Int) {
                for shift in stride(from: (nibbles - 1) * 4, through: 0, by: -4) {
                    text[position] = digits.utf8Start[Int((value >> UInt64(shift)) & 0xF)]
                    position += 1
                }
            }
            func dash() {
                text[position] = UInt8(ascii: "-")
                position += 1
            }
            write(high >> 32, nibbles: 8)
            dash()
            write(high >> 16, nibbles: 4)
            dash()
            write(high, nibbles: 4)
            dash()
            write(low >> 48, nibbles: 4)
            dash()
            write(low, nibbles: 12)
            return position
        }
    }
}
