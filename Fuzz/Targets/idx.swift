import VPData

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
  _ = try? IDXArray(parsing: Array(UnsafeBufferPointer(start: data, count: size)), file: "fuzz.idx")
  return 0
}
