import Foundation

/// Optional per-layer timing (set `VPBOOK_PROFILE=1`); used by `vpbench --profile` to find slow kernels.
public final class Profiler: @unchecked Sendable {
  public static let shared = Profiler()
  public let enabled = ProcessInfo.processInfo.environment["VPBOOK_PROFILE"] == "1"
  private var totals: [String: (seconds: Double, calls: Int)] = [:]
  private let lock = NSLock()

  /// Times `body` under `key` when profiling is enabled.
  @inline(__always) public func measure<T>(_ key: @autoclosure () -> String, _ body: () -> T) -> T {
    if !enabled { return body() }
    let start = DispatchTime.now().uptimeNanoseconds
    let result = body()
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    let k = key()
    lock.lock()
    let old = totals[k] ?? (0, 0)
    totals[k] = (old.seconds + seconds, old.calls + 1)
    lock.unlock()
    return result
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
      String(format: "%7.3f s %5.1f%%  %6d  %@", $0.value.seconds, 100 * $0.value.seconds / max(sum, 1e-9), $0.value.calls, $0.key)
    }.joined(separator: "\n")
  }
}
