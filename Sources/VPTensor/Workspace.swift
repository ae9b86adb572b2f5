import Foundation

/// A batch of channels-last feature maps living in a `Workspace` buffer.
public struct FeatureMap {
  /// The first element; `n·h·w·c` elements follow.
  public var pointer: UnsafeMutablePointer<Float>
  public var n: Int
  public var h: Int
  public var w: Int
  public var c: Int
  /// The number of elements.
  public var count: Int { n * h * w * c }
  /// Rows of the matrix view `[n·h·w, c]` used by 1×1 convolutions.
  public var rows: Int { n * h * w }

  public init(pointer: UnsafeMutablePointer<Float>, n: Int, h: Int, w: Int, c: Int) {
    self.pointer = pointer
    self.n = n
    self.h = h
    self.w = w
    self.c = c
  }
}

/// A caching allocator for activation buffers and a switch for intra-kernel parallelism.
///
/// A training step allocates the same buffers in the same order every time; after the first step every
/// request is served from the free lists, so the step neither page-faults nor zero-fills. One workspace
/// belongs to one thread at a time.
public final class Workspace {
  /// Whether kernels may split their own work over `Parallel.threadCount` threads. A workspace used by
  /// one worker of a data-parallel loop is serial.
  public let parallel: Bool
  private var freeFloats: [Int: [UnsafeMutablePointer<Float>]] = [:]
  private var freeBytes: [Int: [UnsafeMutablePointer<UInt8>]] = [:]
  private var live = 0
  /// The most bytes held (live + cached) so far.
  public private(set) var peakBytes = 0
  private var heldBytes = 0

  public init(parallel: Bool) { self.parallel = parallel }

  deinit {
    for (_, list) in freeFloats { for p in list { p.deallocate() } }
    for (_, list) in freeBytes { for p in list { p.deallocate() } }
  }

  /// Runs `body(i)` for `i` in `0..<count`, in parallel when the workspace allows it.
  public func forEach(_ count: Int, _ body: (Int) -> Void) {
    if parallel { Parallel.forEach(count, body) } else { for i in 0..<count { body(i) } }
  }

  /// Splits `0..<total` into ranges of at least `minimum` and runs them, in parallel when allowed.
  public func forRanges(_ total: Int, minimum: Int, _ body: (Range<Int>) -> Void) {
    if parallel {
      Parallel.forRanges(total, minimum: minimum, body)
    } else if total > 0 {
      body(0..<total)
    }
  }

  /// Splits `0..<total` into consecutive pieces of `size` (the last may be shorter) and runs them, in
  /// parallel when allowed. Used for cache blocking: a piece's output is still in cache for its epilogue.
  public func forChunks(_ total: Int, size: Int, _ body: (Range<Int>) -> Void) {
    let size = max(1, size)
    let pieces = (total + size - 1) / size
    forEach(pieces) { i in body((i * size)..<min(total, i * size + size)) }
  }

  /// Buffers start on a 64-byte boundary (a cache line, one AVX-512 vector): malloc's 16-byte alignment made every
  /// 512-bit load of a feature map straddle two cache lines (`vpbench --own-kernels`, docs/PERFORMANCE.md).
  static let alignment = 64

  /// A new uninitialised float buffer of `count` elements on a 64-byte boundary, outside any workspace (free it
  /// with `deallocate()`): for scratch buffers that kernels stream through.
  public static func allocateFloats(_ count: Int) -> UnsafeMutablePointer<Float> {
    UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * 4, alignment: alignment)
      .bindMemory(to: Float.self, capacity: max(count, 1))
  }

  /// An uninitialised float buffer of `count` elements.
  public func floats(_ count: Int) -> UnsafeMutablePointer<Float> {
    let key = max(count, 1)
    if var list = freeFloats[key], let p = list.popLast() {
      freeFloats[key] = list
      return p
    }
    heldBytes += key * 4
    peakBytes = max(peakBytes, heldBytes)
    return Self.allocateFloats(key)
  }

  /// Returns a buffer obtained from `floats(count)`.
  public func release(_ p: UnsafeMutablePointer<Float>, count: Int) {
    freeFloats[max(count, 1), default: []].append(p)
  }

  /// A feature map with an uninitialised buffer.
  public func featureMap(n: Int, h: Int, w: Int, c: Int) -> FeatureMap {
    FeatureMap(pointer: floats(n * h * w * c), n: n, h: h, w: w, c: c)
  }

  /// Returns a feature map's buffer.
  public func release(_ map: FeatureMap) { release(map.pointer, count: map.count) }

  /// An uninitialised byte buffer (activation masks, pooling indices).
  public func bytes(_ count: Int) -> UnsafeMutablePointer<UInt8> {
    let key = max(count, 1)
    if var list = freeBytes[key], let p = list.popLast() {
      freeBytes[key] = list
      return p
    }
    heldBytes += key
    peakBytes = max(peakBytes, heldBytes)
    return UnsafeMutableRawPointer.allocate(byteCount: key, alignment: Self.alignment)
      .bindMemory(to: UInt8.self, capacity: key)
  }

  /// Returns a buffer obtained from `bytes(count)`.
  public func release(_ p: UnsafeMutablePointer<UInt8>, count: Int) {
    freeBytes[max(count, 1), default: []].append(p)
  }

  /// A copy of a tensor `[N, H, W, C]` in a workspace buffer.
  public func featureMap(copying tensor: Tensor) -> FeatureMap {
    let s = tensor.nhwc
    let map = featureMap(n: s.n, h: s.h, w: s.w, c: s.c)
    tensor.data.withUnsafeBufferPointer { map.pointer.update(from: $0.baseAddress!, count: map.count) }
    return map
  }

  /// Copies a feature map out into a tensor and releases it.
  public func tensor(consuming map: FeatureMap) -> Tensor {
    let t = Tensor(
      shape: [map.n, map.h, map.w, map.c], data: Array(UnsafeBufferPointer(start: map.pointer, count: map.count)))
    release(map)
    return t
  }
}
