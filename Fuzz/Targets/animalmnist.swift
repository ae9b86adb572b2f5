// Animal-MNIST's two gzip'd pickles: the input's first half is the data file, the rest the labels.
import VPData

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
  let half = size / 2
  let images = fuzzFile("data.gz", data, half)
  let labels = fuzzFile("labels.gz", data + half, size - half)
  _ = try? LabeledImages.animalMNIST(dataFile: images, labelFile: labels)
  return 0
}
