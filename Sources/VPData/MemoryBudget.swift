import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// What this process may allocate, and what it has used: the checks that turn "too large" into an error
/// before anything is allocated, and the peak that reports print.
public enum MemoryBudget {
  /// The memory the system can still give (`MemAvailable` of `/proc/meminfo`; the physical memory where
  /// that is unknown). `VPBOOK_MEMORY_LIMIT` (bytes, or with a K/M/G suffix) lowers it, for tests and shared
  /// machines.
  public static var availableBytes: Int64 {
    var available = Int64(ProcessInfo.processInfo.physicalMemory)
    if let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) {
      for line in text.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
        let fields = line.split(separator: " ")
        if fields.count >= 2, let kb = Int64(fields[1]) { available = kb * 1024 }
      }
    }
    if let limit = ProcessInfo.processInfo.environment["VPBOOK_MEMORY_LIMIT"].flatMap(parse) {
      available = min(available, limit)
    }
    return available
  }

  /// `512M`, `2G`, `1048576`.
  static func parse(_ text: String) -> Int64? {
    let units: [Character: Int64] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30]
    if let last = text.uppercased().last, let unit = units[last] {
      return Int64(text.dropLast()).map { $0 * unit }
    }
    return Int64(text)
  }

  /// The most resident memory this process has used so far (bytes).
  public static var peakResidentBytes: Int64 {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Int64(usage.ru_maxrss) * 1024  // kilobytes on Linux
  }

  /// `1.4 GB`, `312 MB`, `30 KB`.
  public static func format(_ bytes: Int64) -> String {
    let mb = Double(bytes) / 1_048_576
    if mb >= 1024 { return String(format: "%.1f GB", mb / 1024) }
    if bytes >= 1_048_576 { return String(format: "%.0f MB", mb) }
    return "\((bytes + 1023) / 1024) KB"
  }

  /// nil when `bytes` more can be allocated; otherwise both sizes as text, for the caller's error (a Double,
  /// so that an estimate from the user's sizes cannot overflow).
  public static func shortfall(_ bytes: Double) -> (needed: String, available: String)? {
    let available = availableBytes
    guard bytes > Double(available) else { return nil }
    return (bytes >= 9e18 ? "more than 8 EB" : format(Int64(bytes)), format(available))
  }

  /// Throws unless `bytes` more can be allocated, naming `what` needs them.
  public static func require(_ bytes: Int64, for what: String, file: String) throws(DataError) {
    if let (needed, available) = shortfall(Double(bytes)) {
      throw DataError(file: file, "\(what) needs \(needed) of memory, more than the \(available) available")
    }
  }
}
