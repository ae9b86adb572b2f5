import ArgumentParser
import Foundation
import VPNotebook

struct Search: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Search the VP design space (grid, random or ASHA) on the validation split, then retrain the best.",
    discussion: "Every option: vpbook search --help.")

  static var help: String {
    """
    Search the VP design space (AutoVP's stage 1, reproducible and resumable), then retrain the best.

    USAGE: vpbook search [--option value] …

    An option given several comma-separated values is an axis; everything else is fixed. Trials are selected
    on the validation split (--val), stopped early by successive halving (--strategy asha), resumed from their
    saved state when promoted, and recorded in a ledger (--ledger): run the same command again after an
    interruption and it continues. The chosen configuration is retrained for --final-epochs with every seed
    of --seeds and tested once.
      vpbook search --per-class 100 --canvas 128 --image 32,64,96 --mapping flm,ilm,fullymap \\
        --strategy asha --grace 1 --max-epochs 8 --eta 2 --seeds 7 --ledger runs/s1 --json s1.json --csv s1.csv
      … --on slurm --slurm "--partition=cpu --time=01:00:00 --cpus-per-task=2"   (docs/SCALING.md)

    \(SearchCommandLine.help)
    """
  }

  @Argument(parsing: .captureForPassthrough, help: "Options, --name value (see below).")
  var options: [String] = []

  func run() throws {
    if options.contains("--help") || options.contains("-h") {
      print(Search.help)
      return
    }
    print(try SearchCommandLine.run(options) { note($0) })
  }
}

/// One job of a search ledger, run by a worker process or a Slurm array task (not for direct use).
struct Trial: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Run one job of a search ledger (used by vpbook search's workers).", shouldDisplay: false)

  @Argument(help: "The ledger folder.")
  var ledger: String

  @Argument(help: "The job: t7-e0-e2 (trial 7, epochs 1–2) or final-s7.")
  var job: String?

  @Option(help: "A wave file of a Slurm job array: run the job on line SLURM_ARRAY_TASK_ID (0-based).")
  var wave: String?

  func run() throws {
    let status = try SearchCommandLine.trial(ledger: ledger, job: job, wave: wave) { note($0) }
    if status != 0 { throw ExitCode(status) }
  }
}
