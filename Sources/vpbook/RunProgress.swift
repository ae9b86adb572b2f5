import Foundation
import VPNotebook

/// Progress on standard error: one line per block, and the training progress bar.
final class RunProgress: @unchecked Sendable {
  private let bar = ProgressBar(enabled: true)
  private let lock = NSLock()

  func handle(_ event: RunnerEvent) {
    lock.lock()
    defer { lock.unlock() }
    switch event {
    case .blockStarted(let ordinal, let total, let location, let summary):
      note("[\(ordinal)/\(total)] \(location) \(summary)")
    case .training(let label, let progress):
      bar.label = "      " + label
      bar.update(progress)
    case .trainingFinished(let label, let accuracy, let seconds):
      bar.finish()
      note(String(format: "      %@: test %.1f %% in %.1f s", label, accuracy * 100, seconds))
    case .warning(let message):
      note("      warning: \(message)")
    case .note(let message):
      note("      \(message)")
    case .blockFinished(_, let status, let seconds, let message):
      switch status {
      case .ran: note(String(format: "      ran in %.1f s", seconds))
      case .cached: note("      from the cache")
      case .failed: note("      failed: \(message ?? "")")
      case .skipped: note("      skipped: \(message ?? "")")
      case .notRun: break
      }
    }
  }
}
