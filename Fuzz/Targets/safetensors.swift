import VPCheckpoint

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
  _ = try? Safetensors.read(bytes: Array(UnsafeBufferPointer(start: data, count: size)), path: "fuzz.safetensors")
  return 0
}
