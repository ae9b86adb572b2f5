import ArgumentParser
import VPNotebook
import VPTensor

/// Runs once, prints the outcome; false when a block failed. Parameter errors exit with status 2.
func runNotebook(_ runner: NotebookRunner, _ options: NotebookOptions) throws -> Bool {
  if options.portable || NotebookRunner.asksForPortableMode(options.notebook) { try enterPortableMode() }
  let progress = options.quiet ? nil : RunProgress()
  let outcome: RunOutcome
  do {
    outcome = try runner.run(notebook: options.notebook, options: options.runnerOptions(progress: progress))
  } catch let error as NotebookError {
    note("error: \(error)")
    throw ExitCode(2)
  }
  for error in outcome.errors { note("error: \(error)") }
  let failed = outcome.blocks.filter { $0.status == .failed }.count
  let skipped = outcome.blocks.filter { $0.status == .skipped || $0.status == .notRun }.count
  var summary =
    "wrote \(outcome.htmlPath): \(outcome.blocks.count) blocks, \(outcome.executedCount) executed, "
    + "\(outcome.cachedCount) from the cache"
  if failed > 0 { summary += ", \(failed) failed" }
  if skipped > 0 { summary += ", \(skipped) not run" }
  note(summary)
  return outcome.succeeded
}

/// Runs the rest of this command in portable mode: executes vpbook again with OpenBLAS's Haswell kernels unless it
/// already runs them (`BLASKernels.ensure(portable:)`); exit status 2, before any work, where that cannot be.
func enterPortableMode() throws {
  BLASKernels.ensure(portable: true)
  guard BLASKernels.isPortable else {
    note(
      "error: portable mode needs a CPU with AVX2 and FMA and OpenBLAS's Haswell kernels (OPENBLAS_CORETYPE, if set, must be Haswell); running with \(BLASKernels.current)"
    )
    throw ExitCode(2)
  }
}
