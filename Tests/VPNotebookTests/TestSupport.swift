import Foundation
// The shared assertions (golden files, well-formed markup, error descriptions) for every file of this target.
@_exported import VPTestSupport

/// Tests/VPNotebookTests/Golden, found from this file's path.
let goldenDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
  .appendingPathComponent("Golden")
