// The pickle reader on its own, with torch's allowed globals.
import VPCheckpoint

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
  let pickle = Pickle(allowedGlobals: ["collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch.FloatStorage"])
  _ = try? pickle.load(Array(UnsafeBufferPointer(start: data, count: size)), path: "fuzz.pkl")
  return 0
}
