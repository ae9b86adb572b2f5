import Foundation
import VPFiles

/// Writes `data` to `path` atomically (`VPFiles.AtomicFile`: a temporary file in the same folder, created if
/// missing, `fsync`, then `rename`); the error names the path, the step that failed and the system's reason.
func writeAtomically(_ data: Data, to path: String) throws {
  try AtomicFile.write(data, to: path)
}
