import Foundation

/// Optional per-layer CPU-time profile (set `VPBOOK_PROFILE=1`); used by `vpbench --profile` to find slow kernels.
public final class Profiler: @unchecked Sendable {
  public static let shared = Profiler()
  public let enabled = ProcessInfo.processInfo.environment["VPBOOK_PROFILE"] == "1"
  private var totals: [String: (seconds: Double, calls: Int)] = [:]
  private let lock = NSLock()

  /// Times `body` under `key` when profiling is enabled.
  @inline(__always) public func measure<T>(_ key: @autoclosure () -> String, _ body: () -> T) -> T {
    if !enabled { return body() }
    let start = Self.threadCPUTime()
    let result = body()
    let seconds = Self.threadCPUTime() - start
    let k = key()
    lock.lock()
    let old = totals[k] ?? (0, 0)
    totals[k] = (old.seconds + seconds, old.calls + 1)
    lock.unlock()
    return result
  }

  /// CPU time of the calling thread: unaffected by other processes sharing the cores, so profiles taken on a
  /// busy machine still compare kernels fairly.
  public static func threadCPUTime() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
  }

  public func reset() {
    lock.lock()
    totals = [:]
    lock.unlock()
  }

  /// The keys sorted by total time, with their share.
  public func report(top: Int = 30) -> String {
    lock.lock()
    defer { lock.unlock() }
    let sum = totals.values.reduce(0) { $0 + $1.seconds }
    return totals.sorted { $0.value.seconds > $1.value.seconds }.prefix(top).map {
      String(
        format: "%7.3f s %5.1f%%  %6d  %@", $0.value.seconds, 100 * $0.value.seconds / max(sum, 1e-9), $0.value.calls,
        $0.key)
    }.joined(separator: "\n")
  }
}
