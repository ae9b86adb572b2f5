/// Per-channel mean of ImageNet training images (RGB), as torchvision normalises.
public let imageNetMean: [Float] = [0.485, 0.456, 0.406]
/// Per-channel standard deviation of ImageNet training images (RGB).
public let imageNetStd: [Float] = [0.229, 0.224, 0.225]

/// Side of the resized image before cropping (torchvision's `Resize(256)`).
public let imageNetResizeSide = 256
/// Side of the centre crop fed to the model (torchvision's `CenterCrop(224)`).
public let imageNetCropSide = 224

/// torchvision's ImageNet evaluation transform, returning a 224×224×3 HWC tensor.
///
/// `Resize(256)` (short side 256, see ``Image/shortSideSize(_:)``), `CenterCrop(224)` (see
/// ``Image/centerCrop(_:)-(ImageSize)``), `ToTensor()` and
/// `Normalize(mean: (0.485, 0.456, 0.406), std: (0.229, 0.224, 0.225))`. Grey images are first
/// repeated to RGB. With the default ``ResizeMethod/pilBilinear`` the result equals torchvision
/// applied to a PIL image (8-bit resize, then `u8 / 255`); ``ResizeMethod/antialiasedBilinear``
/// skips the 8-bit rounding (torchvision on float tensors). Each output value is
/// `(x - mean[c]) / std[c]` in Float, laid out `[(y * 224 + x) * 3 + c]`.
public func torchvisionPreprocess(_ image: Image, resize: ResizeMethod = .pilBilinear) -> [Float] {
  let cropped = image.toRGB()
    .resizeShortSide(imageNetResizeSide, method: resize)
    .centerCrop(imageNetCropSide)
  let count = cropped.pixels.count
  return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
    cropped.pixels.withUnsafeBufferPointer { src in
      let mean = (imageNetMean[0], imageNetMean[1], imageNetMean[2])
      let std = (imageNetStd[0], imageNetStd[1], imageNetStd[2])
      var i = 0
      while i < count {
        buffer[i] = (src[i] - mean.0) / std.0
        buffer[i + 1] = (src[i + 1] - mean.1) / std.1
        buffer[i + 2] = (src[i + 2] - mean.2) / std.2
        i += 3
      }
    }
    initialized = count
  }
}

/// EfficientNet-Lite's evaluation transform, returning a 224×224×3 HWC tensor.
///
/// Resize (short side 256) and centre crop 224 exactly as ``torchvisionPreprocess(_:resize:)``,
/// then each sample is quantised to 8 bits `u` (a no-op after ``ResizeMethod/pilBilinear``) and
/// mapped to `(Float(u) - 127) / 128`.
public func efficientNetPreprocess(_ image: Image, resize: ResizeMethod = .pilBilinear) -> [Float] {
  let cropped = image.toRGB()
    .resizeShortSide(imageNetResizeSide, method: resize)
    .centerCrop(imageNetCropSide)
  return cropped.bytes.map { (Float($0) - 127) / 128 }
}

/// CLIP's image statistics (OpenAI's `clip._transform`).
public let clipMean: [Float] = [0.48145466, 0.4578275, 0.40821073]
/// CLIP's per-channel standard deviation.
public let clipStd: [Float] = [0.26862954, 0.26130258, 0.27577711]

/// CLIP's evaluation transform for a model of input side `side`, returning a `side × side × 3` HWC tensor:
/// `Resize(side, interpolation=BICUBIC)` (short side, on 8 bits as PIL: ``ResizeMethod/pilBicubic``),
/// `CenterCrop(side)`, RGB, `ToTensor()`, `Normalize(clipMean, clipStd)`.
public func clipPreprocess(_ image: Image, side: Int) -> [Float] {
  let cropped = image.toRGB().resizeShortSide(side, method: .pilBicubic).centerCrop(side)
  return cropped.pixels.enumerated().map { i, v in (v - clipMean[i % 3]) / clipStd[i % 3] }
}
