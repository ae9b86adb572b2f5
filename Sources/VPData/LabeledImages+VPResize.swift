import Dispatch
import Foundation
import VPImage

extension LabeledImages {
  /// Every image resized to `side × side` with plain bilinear interpolation (torch
  /// `interpolate(mode="bilinear", align_corners=False, antialias=False)`, see
  /// ``ResizeMethod/bilinear``) and, when `rgb` is true, grey repeated to 3 channels.
  ///
  /// This is the visual-prompting input transform (e.g. N×28×28×1 → N×64×64×3), for a whole set;
  /// training converts one batch at a time with ``resized(_:toSide:rgb:)`` instead.
  public func resizeBilinear(toSide side: Int, rgb: Bool = true) -> LabeledImages {
    LabeledImages(
      name: name, images: resized(0..<count, toSide: side, rgb: rgb), count: count, height: side, width: side,
      channels: rgb ? 3 : channels, labels: labels, classNames: classNames)
  }

  /// The images at `indices`, in that order, as `[n, side, side, 3]` floats (or `channels` when `rgb` is
  /// false): each converted from its stored samples, resized bilinearly and, for grey images, repeated to
  /// 3 channels — the same floats as ``resizeBilinear(toSide:rgb:)`` gives for those images.
  ///
  /// The work is split into 2–4 contiguous chunks of images run with `DispatchQueue.concurrentPerform`;
  /// the result does not depend on the chunking.
  public func resized<C: Collection<Int>>(_ indices: C, toSide side: Int, rgb: Bool = true) -> [Float] {
    precondition(side > 0, "resized: side must be positive")
    let order = Array(indices)
    let target = ImageSize(square: side)
    let source = ImageSize(width: width, height: height)
    let outChannels = rgb ? 3 : channels
    let outStride = side * side * outChannels
    let resampler = FloatResampler(from: source, to: target, weights: ResampleWeights.bilinear)
    let channels = self.channels
    let count = order.count
    let imageSize = self.imageSize
    var output = [Float](repeating: 0, count: count * outStride)
    guard count > 0 else { return output }
    output.withUnsafeMutableBufferPointer { outputBuffer in
      let out = SendablePointer(outputBuffer)
      let chunks = min(max(2, min(4, ProcessInfo.processInfo.activeProcessorCount)), count)
      DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
        var scratch = [Float](repeating: 0, count: resampler.scratchCount(channels: channels))
        var single = [Float](repeating: 0, count: side * side * channels)
        var stored = [Float](repeating: 0, count: imageSize)
        let range = (chunk * count / chunks)..<((chunk + 1) * count / chunks)
        scratch.withUnsafeMutableBufferPointer { tmp in
          single.withUnsafeMutableBufferPointer { one in
            stored.withUnsafeMutableBufferPointer { src in
              for i in range {
                copyImage(order[i], into: src.baseAddress!)
                let dst = out.base + i * outStride
                if outChannels == channels {
                  resampler.apply(
                    UnsafePointer(src.baseAddress!), channels: channels, into: dst, scratch: tmp.baseAddress!)
                } else {
                  resampler.apply(
                    UnsafePointer(src.baseAddress!), channels: 1, into: one.baseAddress!, scratch: tmp.baseAddress!)
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
    return output
  }
}
