extension ReportPage {
  /// The page's inline style sheet: paper-like typography with system fonts only, booktabs-style tables,
  /// centred figures, and print rules (A4, colours kept, figures and tables not split, no printed URLs).
  public static let css = """
    :root { color-scheme: light; --ink: #1d1d1f; --muted: #5f6368; --rule: #1d1d1f; --accent: #0b5cad; }
    * { box-sizing: border-box; }
    html { font-size: 100%; -webkit-text-size-adjust: 100%; }
    body { margin: 0; background: #ffffff; color: var(--ink);
      font-family: Charter, "Bitstream Charter", "Sitka Text", Cambria, "Noto Serif", "DejaVu Serif", Georgia, serif;
      font-size: 1.0625rem; line-height: 1.6; }
    .vp-page { max-width: 50rem; margin: 0 auto; padding: 2.5rem 1.5rem 4rem; }
    h1, h2, h3, h4, h5, h6 { line-height: 1.25; margin: 2rem 0 0.75rem; font-weight: 600; }
    h1 { font-size: 1.9rem; } h2 { font-size: 1.45rem; } h3 { font-size: 1.2rem; } h4, h5, h6 { font-size: 1rem; }
    p, ul, ol, blockquote, pre, table, figure { margin: 0 0 1rem; }
    a { color: var(--accent); text-decoration: underline; text-underline-offset: 0.15em; }
    blockquote { margin-left: 0; padding-left: 1rem; border-left: 3px solid #d0d0d0; color: var(--muted); }
    code, pre, kbd { font-family: ui-monospace, "SFMono-Regular", "DejaVu Sans Mono", Menlo, Consolas, monospace;
      font-size: 0.875em; }
    code { background: #f3f3f3; padding: 0.1em 0.3em; border-radius: 3px; }
    pre { background: #f6f6f6; padding: 0.75rem 1rem; overflow-x: auto; border-radius: 4px; line-height: 1.45; }
    pre code { background: none; padding: 0; }
    hr { border: none; border-top: 1px solid #d0d0d0; margin: 2rem 0; }
    img { max-width: 100%; height: auto; }
    .vp-header { margin-bottom: 2rem; border-bottom: 1px solid #d0d0d0; padding-bottom: 1rem; }
    .vp-title { margin-top: 0; }
    .vp-authors { color: var(--muted); margin: 0.25rem 0; }
    .vp-description { font-style: italic; margin: 0.5rem 0 0; }
    .vp-toc { font-size: 0.95rem; margin: 0 0 2rem; }
    .vp-toc-title { font-weight: 600; margin: 0 0 0.25rem; }
    .vp-toc ol { margin: 0; padding-left: 1.25rem; }
    figure.vp-figure { margin: 1.75rem auto; text-align: center; }
    figure.vp-figure > svg, figure.vp-figure > img { display: block; margin: 0 auto; }
    .vp-summary { text-align: left; }
    svg.vp-chart { max-width: 100%; height: auto; overflow: visible; }
    figcaption, table.vp-table caption { font-size: 0.92rem; color: var(--ink); margin-top: 0.5rem;
      text-align: center; }
    .vp-label { font-weight: 600; }
    table.vp-table { border-collapse: collapse; margin: 1.75rem auto; border-top: 2px solid var(--rule);
      border-bottom: 2px solid var(--rule); font-variant-numeric: tabular-nums; font-size: 0.95rem; }
    table.vp-table caption { caption-side: top; margin: 0 0 0.5rem; }
    table.vp-table th, table.vp-table td { padding: 0.3rem 0.75rem; text-align: left; vertical-align: baseline; }
    table.vp-table thead th { border-bottom: 1px solid var(--rule); font-weight: 600; }
    table.vp-table .num { text-align: right; white-space: nowrap; }
    .vp-unit, .vp-better { color: var(--muted); font-weight: normal; }
    .vp-banner { background: #fdecea; border-left: 4px solid #b3261e; padding: 0.75rem 1rem; margin: 0 0 1.5rem;
      border-radius: 4px; }
    .vp-error { border: 1px solid #b3261e; border-radius: 4px; padding: 0.5rem 1rem; margin: 0 0 1rem;
      background: #fff8f7; }
    .vp-error-title { color: #b3261e; font-weight: 600; margin: 0 0 0.5rem; }
    .vp-error pre { background: none; padding: 0; margin: 0; white-space: pre-wrap; }
    .vp-appendix { margin-top: 3rem; border-top: 1px solid #d0d0d0; font-size: 0.95rem; }
    @media print {
      @page { size: A4; margin: 18mm 16mm; }
      * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
      body { font-size: 10.5pt; line-height: 1.45; }
      .vp-page { max-width: none; padding: 0; }
      a { color: inherit; text-decoration: none; }
      a[href]::after { content: none !important; }
      figure, table, pre, .vp-banner, .vp-error { break-inside: avoid; page-break-inside: avoid; }
      h1, h2, h3, h4, h5, h6 { break-after: avoid; page-break-after: avoid; }
      .vp-appendix { break-before: page; page-break-before: always; border-top: none; }
      pre { white-space: pre-wrap; }
    }

    """
}
