import Foundation
import VPAssets

/// The 1000 ImageNet-1k class names in the standard index order, as torchvision shows them
/// (from Debian's `python3-torchvision`, installed by setup).
public enum ImageNetClasses {
  /// The names, index 0 ("tench") to 999 ("toilet tissue").
  public static func names() throws -> [String] {
    let path = try Assets.path("imagenet/imagenet_classes.txt")
    let text = try String(contentsOfFile: path, encoding: .utf8)
    let names = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init).filter { !$0.isEmpty }
    guard names.count == 1000 else {
      throw ModelError(file: path, "expected 1000 ImageNet class names, found \(names.count)")
    }
    return names
  }
}

extension ImageNetClasses {
  /// The WordNet 3.0 noun synset offset of each class (`n01440764` → 1440764), from the `imagenet-classes`
  /// package's `imagenet1k_to_21k.json`.
  public static func wordNetSynsets() throws -> [Int] {
    let path = try Assets.path("imagenet/imagenet-classes-json/imagenet1k_to_21k.json")
    guard let data = FileManager.default.contents(atPath: path),
      let table = try? JSONSerialization.jsonObject(with: data) as? [String: String]
    else { throw ModelError(file: path, "not a JSON object of class index → WordNet id") }
    var result = [Int](repeating: -1, count: 1000)
    for (key, wnid) in table {
      guard let i = Int(key), (0..<1000).contains(i), wnid.hasPrefix("n"), let offset = Int(wnid.dropFirst()) else {
        throw ModelError(file: path, "bad entry '\(key)': '\(wnid)'")
      }
      result[i] = offset
    }
    if let missing = result.firstIndex(of: -1) { throw ModelError(file: path, "no WordNet id for class \(missing)") }
    return result
  }
}
