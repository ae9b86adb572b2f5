import VPData

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
  _ = try? LabeledImages.csv(
    file: fuzzFile("x.csv", data, size), height: 2, width: 2, maxValue: 16, classNames: ["a", "b", "c"], name: "f")
  return 0
}
