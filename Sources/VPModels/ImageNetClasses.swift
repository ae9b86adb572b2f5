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
