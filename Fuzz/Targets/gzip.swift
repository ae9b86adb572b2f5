// The gzip reader (through a gzip'd IDX file).
import VPData

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
  _ = try? IDXArray(contentsOfFile: fuzzFile("x-idx3-ubyte.gz", data, size))
  return 0
}
