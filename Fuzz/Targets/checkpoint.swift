// Any checkpoint: zip or legacy .pth (through the pickle reader that executes nothing) or .safetensors.
import VPCheckpoint

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
  _ = try? loadCheckpoint(bytes: Array(UnsafeBufferPointer(start: data, count: size)), path: "fuzz.pth")
  return 0
}
