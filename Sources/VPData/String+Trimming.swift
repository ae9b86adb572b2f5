extension StringProtocol {
  /// The text without leading and trailing characters from `set`.
  func trimmed(of set: String) -> String {
    let characters = Array(self)
    var start = 0
    var end = characters.count
    while start < end && set.contains(characters[start]) { start += 1 }
    while end > start && set.contains(characters[end - 1]) { end -= 1 }
    return String(characters[start..<end])
  }
}
