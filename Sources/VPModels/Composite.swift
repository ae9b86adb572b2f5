import VPTensor

/// Layers applied one after the other.
public struct Sequential: FrozenLayer {
  public var layers: [any FrozenLayer]
  public init(_ layers: [any FrozenLayer]) { self.layers = layers }

  public func forward(_ x: FeatureMap, workspace ws: Workspace, tape: Tape?) -> FeatureMap {
    var current = x
    for (i, layer) in layers.enumerated() {
      let next = layer.forward(current, workspace: ws, tape: tape)
      if i > 0 { ws.release(current) }
      current = next
    }
    if layers.isEmpty {
      let copy = ws.featureMap(n: x.n, h: x.h, w: x.w, c: x.c)
      copy.pointer.update(from: x.pointer, count: x.count)
      return copy
    }
    return current
  }

  public func backward(_ gy: FeatureMap, workspace ws: Workspace, tape: Tape) -> FeatureMap {
    var g = gy
    for layer in layers.reversed() { g = layer.backward(g, workspace: ws, tape: tape) }
    return g
  }
}

/// `post(body(x) + shortcut(x))`: a residual block; `shortcut == nil` is the identity.
public struct Residual: FrozenLayer {
  public var body: Sequential
  public var shortcut: Sequential?
  public var post: Activation

  public init(body: Sequential, shortcut: Sequential? = nil, post: Activation = .identity) {
    self.body = body
    self.shortcut = shortcut
    self.post = post
  }

  public func forward(_ x: FeatureMap, workspace ws: Workspace, tape: Tape?) -> FeatureMap {
    let h = body.forward(x, workspace: ws, tape: tape)
    if let shortcut {
      let s = shortcut.forward(x, workspace: ws, tape: tape)
      ws.add(h.pointer, s.pointer, count: h.count)
      ws.release(s)
    } else {
      precondition(h.count == x.count, "identity shortcut needs equal shapes")
      ws.add(h.pointer, x.pointer, count: h.count)
    }
    if post != .identity { ws.activate(h, post, tape: tape, inputH: x.h, inputW: x.w) }
    return h
  }

  public func backward(_ gy: FeatureMap, workspace ws: Workspace, tape: Tape) -> FeatureMap {
    if post != .identity, let m = tape.pop().bytes {
      ws.applyMask(gy.pointer, m, count: gy.count)
      ws.release(m, count: gy.count)
    }
    let copy = ws.featureMap(n: gy.n, h: gy.h, w: gy.w, c: gy.c)
    copy.pointer.update(from: gy.pointer, count: gy.count)
    let gShort = shortcut.map { $0.backward(copy, workspace: ws, tape: tape) } ?? copy
    let gBody = body.backward(gy, workspace: ws, tape: tape)
    ws.add(gBody.pointer, gShort.pointer, count: gBody.count)
    ws.release(gShort)
    return gBody
  }
}
