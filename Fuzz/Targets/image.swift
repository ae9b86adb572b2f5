// PNG and JPEG decoding (libpng / libjpeg behind the shim that turns their longjmps into errors).
import VPImage

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
  _ = try? Image(decoding: Array(UnsafeBufferPointer(start: data, count: size)), name: "fuzz", maxPixels: 1 << 20)
  return 0
}
