import VPData

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
  _ = try? LabeledImages.cifar(files: [fuzzFile("batch.bin", data, size)], variant: .cifar100, name: "f")
  return 0
}
