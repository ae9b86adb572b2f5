/// A dense float32 tensor in row-major order.
///
/// Activations use channels-last layout, `[N, H, W, C]`: a 1×1 convolution is then one matrix product over
/// the whole batch and depthwise convolutions vectorise over channels.
public struct Tensor: Equatable, Sendable {
  /// The extent of each dimension, outermost first.
  public var shape: [Int]
  /// The elements in row-major order; `data.count == shape.reduce(1, *)`.
  public var data: [Float]

  /// Creates a tensor from its shape and elements.
  public init(shape: [Int], data: [Float]) {
    precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
    precondition(
      shape.reduce(1, *) == data.count, "shape \(shape) needs \(shape.reduce(1, *)) elements, got \(data.count)")
    self.shape = shape
    self.data = data
  }

  /// A tensor of zeros.
  public init(zeros shape: [Int]) {
    self.init(shape: shape, data: [Float](repeating: 0, count: shape.reduce(1, *)))
  }

  /// A tensor whose elements are produced by `body(flatIndex)`.
  public init(shape: [Int], generator body: (Int) -> Float) {
    let count = shape.reduce(1, *)
    self.init(shape: shape, data: (0..<count).map(body))
  }

  /// The number of elements.
  public var count: Int { data.count }

  /// Rank-4 accessors for `[N, H, W, C]` tensors.
  public var nhwc: (n: Int, h: Int, w: Int, c: Int) {
    precondition(shape.count == 4, "expected a rank-4 NHWC tensor, got shape \(shape)")
    return (shape[0], shape[1], shape[2], shape[3])
  }

  /// Permutes the axes: `result.shape[i] == shape[axes[i]]`.
  public func permuted(_ axes: [Int]) -> Tensor {
    precondition(axes.sorted() == Array(0..<shape.count), "bad permutation \(axes) for rank \(shape.count)")
    let newShape = axes.map { shape[$0] }
    var strides = [Int](repeating: 1, count: shape.count)
    for i in stride(from: shape.count - 2, through: 0, by: -1) { strides[i] = strides[i + 1] * shape[i + 1] }
    let permutedStrides = axes.map { strides[$0] }
    var out = [Float](repeating: 0, count: data.count)
    var index = [Int](repeating: 0, count: shape.count)
    data.withUnsafeBufferPointer { src in
      for flat in 0..<out.count {
        var offset = 0
        for d in 0..<index.count { offset += index[d] * permutedStrides[d] }
        out[flat] = src[offset]
        var d = index.count - 1
        while d >= 0 {
          index[d] += 1
          if index[d] < newShape[d] { break }
          index[d] = 0
          d -= 1
        }
      }
    }
    return Tensor(shape: newShape, data: out)
  }

  /// `[N, C, H, W]` → `[N, H, W, C]`.
  public func nchwToNHWC() -> Tensor { permuted([0, 2, 3, 1]) }
  /// `[N, H, W, C]` → `[N, C, H, W]`.
  public func nhwcToNCHW() -> Tensor { permuted([0, 3, 1, 2]) }

  /// The largest absolute difference to `other`, relative to `max(1, max |other|)`.
  public func maxRelativeDifference(to other: Tensor) -> Float {
    precondition(shape == other.shape, "shape \(shape) vs \(other.shape)")
    var scale: Float = 1
    var diff: Float = 0
    for i in 0..<data.count {
      scale = max(scale, abs(other.data[i]))
      diff = max(diff, abs(data[i] - other.data[i]))
    }
    return diff / scale
  }
}
