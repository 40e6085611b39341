import CLibFuzzer

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The test a fuzz target runs on each input: any bytes, returning 0 (libFuzzer reserves other values).
public typealias FuzzTest = @convention(c) (_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt

/// Runs libFuzzer on `test` with the program's command line, then exits with its status.
///
/// A target's `@main` calls this. SwiftPM names an executable's entry point `<target>_main` and links it as the
/// program's `main`, so a target cannot leave `main` to libFuzzer: it calls libFuzzer's driver instead.
public func runFuzzer(_ test: FuzzTest) -> Never {
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv, test))
}

extension UnsafeRawBufferPointer {
    /// The bytes of one fuzzer input.
    public init(fuzzerInput data: UnsafePointer<UInt8>?, count: Int) {
        self.init(start: count == 0 ? nil : data, count: count)
    }
}
