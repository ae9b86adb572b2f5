import Dispatch
import Foundation
import VPImage

extension LabeledImages {
  /// Every image resized to `side × side` with plain bilinear interpolation (torch
  /// `interpolate(mode="bilinear", align_corners=False, antialias=False)`, see
  /// ``ResizeMethod/bilinear``) and, when `rgb` is true, grey repeated to 3 channels.
  ///
  /// This is the visual-prompting input transform (e.g. N×28×28×1 → N×64×64×3). The work is
  /// split into 2–4 contiguous chunks of images run with `DispatchQueue.concurrentPerform`; the
  /// result does not depend on the chunking.
  public func resizeBilinear(toSide side: Int, rgb: Bool = true) -> LabeledImages {
    precondition(side > 0, "resizeBilinear: side must be positive")
    let target = ImageSize(square: side)
    let source = ImageSize(width: width, height: height)
    let outChannels = rgb ? 3 : channels
    let outStride = side * side * outChannels
    let resampler = FloatResampler(from: source, to: target, weights: ResampleWeights.bilinear)
    let inStride = imageSize
    let channels = self.channels
    let count = self.count
    var output = [Float](repeating: 0, count: count * outStride)
    if count > 0 {
      images.withUnsafeBufferPointer { inputBuffer in
        output.withUnsafeMutableBufferPointer { outputBuffer in
          let input = SendablePointer(inputBuffer)
          let out = SendablePointer(outputBuffer)
          let chunks = min(max(2, min(4, ProcessInfo.processInfo.activeProcessorCount)), count)
          DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            var scratch = [Float](repeating: 0, count: resampler.scratchCount(channels: channels))
            var single = [Float](repeating: 0, count: side * side * channels)
            let range = (chunk * count / chunks)..<((chunk + 1) * count / chunks)
            scratch.withUnsafeMutableBufferPointer { tmp in
              single.withUnsafeMutableBufferPointer { one in
                for i in range {
                  let src = UnsafePointer(input.base + i * inStride)
                  let dst = out.base + i * outStride
                  if outChannels == channels {
                    resampler.apply(src, channels: channels, into: dst, scratch: tmp.baseAddress!)
                  } else {
                    resampler.apply(
                      src, channels: 1, into: one.baseAddress!, scratch: tmp.baseAddress!)
                    for p in 0..<(side * side) {
                      let v = one[p]
                      dst[3 * p] = v
                      dst[3 * p + 1] = v
                      dst[3 * p + 2] = v
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
    return LabeledImages(
      name: name, images: output, count: count, height: side, width: side, channels: outChannels,
      labels: labels, classNames: classNames)
  }
}
