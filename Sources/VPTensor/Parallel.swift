import CBLAS
import Dispatch
import Foundation

/// The worker threads used by every kernel, and the BLAS configuration that goes with them.
///
/// Kernels split their work into chunks and run them with `parallelFor`; OpenBLAS itself is kept
/// single-threaded so that each chunk's matrix product stays in its own core's cache and two chunks never
/// compete for the same BLAS thread pool.
public enum Parallel {
  /// The number of worker threads (the machine's active cores, or `VPBOOK_THREADS`).
  public static let threadCount: Int = {
    if let text = ProcessInfo.processInfo.environment["VPBOOK_THREADS"], let n = Int(text), n > 0 { return n }
    return max(1, ProcessInfo.processInfo.activeProcessorCount)
  }()

  private static let configured: Bool = {
    openblas_set_num_threads(1)
    return true
  }()

  /// Ensures OpenBLAS runs single-threaded; cheap after the first call.
  @inline(__always) public static func configure() { _ = configured }

  /// Runs `body(i)` for `i` in `0..<count`, spread over the worker threads.
  public static func forEach(_ count: Int, _ body: (Int) -> Void) {
    if count <= 0 { return }
    if count == 1 || threadCount == 1 {
      for i in 0..<count { body(i) }
      return
    }
    withoutActuallyEscaping(body) { escapable in
      DispatchQueue.concurrentPerform(iterations: count) { escapable($0) }
    }
  }

  /// Splits `0..<total` into about `chunks` contiguous ranges of at least `minimum` elements and runs
  /// `body(range)` for each in parallel.
  public static func forRanges(
    _ total: Int, minimum: Int = 1, chunks: Int = Parallel.threadCount * 4, _ body: (Range<Int>) -> Void
  ) {
    if total <= 0 { return }
    let pieces = max(1, min(chunks, total / max(1, minimum)))
    let step = (total + pieces - 1) / pieces
    let count = (total + step - 1) / step
    forEach(count) { i in
      let start = i * step
      body(start..<min(total, start + step))
    }
  }
}
