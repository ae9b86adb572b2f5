// Shared by the drivers whose parsers read files: the input is written to a file in /dev/shm first.
import Foundation

let fuzzDirectory: String = {
  let path = "/dev/shm/vpbook-fuzz-\(getpid())"
  try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
  return path
}()

/// Writes `size` bytes at `data` to `name` in the fuzz folder; its path.
func fuzzFile(_ name: String, _ data: UnsafePointer<UInt8>, _ size: Int) -> String {
  let path = fuzzDirectory + "/" + name
  _ = FileManager.default.createFile(atPath: path, contents: Data(bytes: data, count: size))
  return path
}
