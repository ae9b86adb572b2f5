import CBLAS
import CKernels
import Foundation

/// Which of OpenBLAS's kernel sets runs, and making it the right one.
///
/// OpenBLAS's `DYNAMIC_ARCH` build picks its kernels from the CPU's model when the library loads. It does not
/// recognise every CPU: on a virtual "Intel(R) Xeon(R) Processor" with AVX-512 it falls back to its SSE3
/// *Prescott* kernels, 3× slower than the AVX-512 ones (docs/PERFORMANCE.md). The choice is made before any
/// Swift code runs, so the executables call `ensure()` first: when OpenBLAS chose a kernel set older than
/// the CPU's instructions allow, the process executes itself again with `OPENBLAS_CORETYPE` set.
public enum BLASKernels {
  /// The kernel set OpenBLAS runs (`Prescott`, `Haswell`, `SkylakeX` …).
  public static var current: String {
    guard let name = openblas_get_corename() else { return "unknown" }
    return String(cString: name)
  }

  /// Kernel sets that use at least AVX2 and FMA: a choice among them is left alone.
  public static let modern: Set<String> = [
    "haswell", "skylakex", "cooperlake", "sapphirerapids", "zen", "zen2", "zen3", "zen4",
  ]

  /// The kernel set to ask for, or nil to keep OpenBLAS's: `Haswell` in portable mode (the same kernels on
  /// every AVX2 machine); otherwise `SkylakeX` on a CPU with AVX-512 (F, BW, DQ, VL) and `Haswell` on one with
  /// AVX2 and FMA, when OpenBLAS chose an older set.
  public static func preferred(cpuFlags flags: Set<String>, current: String, portable: Bool) -> String? {
    let avx2 = flags.contains("avx2") && flags.contains("fma")
    if portable { return avx2 && current.lowercased() != "haswell" ? "Haswell" : nil }
    guard !modern.contains(current.lowercased()) else { return nil }
    if ["avx512f", "avx512bw", "avx512dq", "avx512vl"].allSatisfy(flags.contains) { return "SkylakeX" }
    return avx2 ? "Haswell" : nil
  }

  /// The CPU's feature flags (`/proc/cpuinfo`; empty elsewhere).
  public static var cpuFlags: Set<String> {
    guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
      let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }),
      let list = line.split(separator: ":", maxSplits: 1).last
    else { return [] }
    return Set(list.split(separator: " ").map(String.init))
  }

  /// Whether this process runs in portable mode: `VPBOOK_PORTABLE=1` and OpenBLAS's Haswell kernels.
  public static var isPortable: Bool {
    ProcessInfo.processInfo.environment["VPBOOK_PORTABLE"] == "1" && current.lowercased() == "haswell"
  }

  /// The build of vpbook's own kernels (`CKernels`) that runs: `AVX-512` or `AVX2/FMA`. Both give the same bits
  /// (KernelDispatchTests); AVX-512 is chosen where the CPU has it, AVX2 in portable mode or with
  /// `VPBOOK_OWN_KERNELS=avx2`.
  public static var own: String { vp_kernels_level() == 1 ? "AVX-512" : "AVX2/FMA" }

  /// Whether the CPU (and the OS) support the AVX-512 subsets vpbook's AVX-512 build needs (F, BW, VL, DQ).
  public static var cpuHasAVX512: Bool { vp_cpu_has_avx512() == 1 }

  /// Chooses the build of vpbook's own kernels: AVX2 when `portable` or `VPBOOK_OWN_KERNELS=avx2`, else the best
  /// the CPU has. Called by `ensure`, before any work.
  public static func selectOwn(portable: Bool) {
    let forced = ProcessInfo.processInfo.environment["VPBOOK_OWN_KERNELS"]?.lowercased()
    vp_kernels_select(portable || forced == "avx2" ? 0 : 1)
  }

  /// The kernels that ran, for reports, manifests and the block cache's key: OpenBLAS's set, vpbook's own,
  /// `VPBOOK_FUSED=all` (the one fusion that changes bits), and whether the portable mode pinned them.
  public static var summary: String {
    "OpenBLAS \(current); vpbook's own \(own)"
      + (BlockFusion.environment == .all ? "; blocks fused on OpenBLAS tiles" : "")
      + (isPortable ? "; portable mode" : "")
  }

  /// Chooses vpbook's own kernels (`selectOwn`) and executes this process again with the preferred OpenBLAS
  /// kernel set, once, unless `OPENBLAS_CORETYPE` was set by the user (their choice wins). `portable` (or `VPBOOK_PORTABLE=1`) asks for the same kernels everywhere
  /// (Haswell) and sets `VPBOOK_PORTABLE=1` for the new process; it may be asked for after start-up (`vpbook
  /// run` reads a notebook's `portable: true` first), before any work is done. A failed re-execution leaves
  /// the process running as it was.
  public static func ensure(portable requested: Bool = false) {
    let environment = ProcessInfo.processInfo.environment
    let chosen = environment["VPBOOK_BLAS_CHOSEN"] ?? ""
    let userCore = environment["OPENBLAS_CORETYPE"] ?? ""
    let portable = requested || environment["VPBOOK_PORTABLE"] == "1"
    selectOwn(portable: portable)
    guard userCore.isEmpty || userCore == chosen else { return }
    guard let wanted = preferred(cpuFlags: cpuFlags, current: current, portable: portable), wanted != chosen else {
      return
    }
    if portable { setenv("VPBOOK_PORTABLE", "1", 1) }
    setenv("OPENBLAS_CORETYPE", wanted, 1)
    setenv("VPBOOK_BLAS_CHOSEN", wanted, 1)
    execv("/proc/self/exe", CommandLine.unsafeArgv)
    // Still here: the re-execution failed; go on with OpenBLAS's choice.
    unsetenv("OPENBLAS_CORETYPE")
  }
}
