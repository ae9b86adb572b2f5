import Dispatch
import Foundation
import VPImage

extension LabeledImages {
  /// Loads a torchvision-style `ImageFolder`: `root/CLASS/…/FILE.{png,jpg,jpeg}`.
  ///
  /// Classes are the sub-directories of `root`, sorted by name (byte order, as Python's
  /// `sorted`); label `i` is the `i`-th class. Inside a class directory files are found
  /// recursively and ordered as torchvision does: directories in sorted path order, files sorted
  /// within each directory. Only `.png`, `.jpg` and `.jpeg` (any case) are read; other files are
  /// ignored. Every image is converted to 3 channels and, when `size` is given, resized to it with
  /// `method`; without `size` every image must have the first image's size. A class without images
  /// is an error (as in torchvision). Decoding runs on up to 4 threads. Errors name the file.
  public static func imageFolder(
    root: String, size: ImageSize? = nil, method: ResizeMethod = .antialiasedBilinear,
    name: String? = nil
  ) throws(DataError) -> LabeledImages {
    guard FileSystem.isDirectory(root) else { throw DataError(file: root, "not a directory") }
    let classes = try FileSystem.sortedEntries(root).filter {
      FileSystem.isDirectory(root + "/" + $0)
    }
    guard !classes.isEmpty else { throw DataError(file: root, "no class directories") }
    var paths = [String]()
    var labels = [Int]()
    for (label, className) in classes.enumerated() {
      let files = try imageFiles(in: root + "/" + className)
      guard !files.isEmpty else {
        throw DataError(
          file: root + "/" + className, "class directory has no .png/.jpg/.jpeg files")
      }
      paths += files
      labels += Array(repeating: label, count: files.count)
    }

    let first = try loadImage(paths[0], size: size, method: method, expected: nil)
    let target = size ?? first.size
    let stride = target.width * target.height * 3
    try MemoryBudget.require(
      Int64(paths.count) * Int64(stride) * 4,
      for: "\(paths.count) images of \(target.width)×\(target.height)×3 floats", file: root)
    var samples = [Float](repeating: 0, count: paths.count * stride)
    var failures = [DataError?](repeating: nil, count: paths.count)
    samples.withUnsafeMutableBufferPointer { samplesBuffer in
      failures.withUnsafeMutableBufferPointer { failuresBuffer in
        let out = SendablePointer(samplesBuffer)
        let failed = SendablePointer(failuresBuffer)
        let files = paths
        let count = files.count
        let chunks = min(max(2, min(4, ProcessInfo.processInfo.activeProcessorCount)), count)
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
          for i in (chunk * count / chunks)..<((chunk + 1) * count / chunks) {
            let image: Image
            if i == 0 {
              image = first
            } else {
              do throws(DataError) {
                image = try loadImage(files[i], size: size, method: method, expected: target)
              } catch {
                failed.base[i] = error
                return
              }
            }
            image.pixels.withUnsafeBufferPointer { pixels in
              (out.base + i * stride).update(from: pixels.baseAddress!, count: stride)
            }
          }
        }
      }
    }
    if let failure = failures.first(where: { $0 != nil }) { throw failure! }
    return LabeledImages(
      name: name ?? URL(fileURLWithPath: root).lastPathComponent, images: samples,
      count: paths.count,
      height: target.height, width: target.width, channels: 3, labels: labels, classNames: classes)
  }

  /// Decodes `path` to RGB and resizes it to `size`, or checks it has size `expected`.
  private static func loadImage(
    _ path: String, size: ImageSize?, method: ResizeMethod, expected: ImageSize?
  ) throws(DataError) -> Image {
    let image: Image
    do {
      image = try Image(contentsOfFile: path)
    } catch {
      // ImageError's description already starts with the path.
      let text = error.description
      throw DataError(
        file: path, text.hasPrefix(path + ": ") ? String(text.dropFirst(path.count + 2)) : text)
    }
    let rgb = image.toRGB()
    if let size { return rgb.resized(to: size, method: method) }
    if let expected, rgb.size != expected {
      throw DataError(
        file: path,
        "image is \(rgb.size), expected \(expected) like the first image (pass a size to resize)")
    }
    return rgb
  }

  /// Image files under `directory` in torchvision's order: `sorted(os.walk(directory))`, then
  /// `sorted(filenames)` per directory.
  private static func imageFiles(in directory: String) throws(DataError) -> [String] {
    var directories = [directory]
    var pending = [directory]
    while let current = pending.popLast() {
      for entry in try FileSystem.sortedEntries(current)
      where FileSystem.isDirectory(current + "/" + entry) {
        directories.append(current + "/" + entry)
        pending.append(current + "/" + entry)
      }
    }
    directories.sort(by: FileSystem.utf8Less)
    var files = [String]()
    for current in directories {
      for entry in try FileSystem.sortedEntries(current) {
        let path = current + "/" + entry
        let lower = entry.lowercased()
        guard lower.hasSuffix(".png") || lower.hasSuffix(".jpg") || lower.hasSuffix(".jpeg") else {
          continue
        }
        if !FileSystem.isDirectory(path) { files.append(path) }
      }
    }
    return files
  }
}
