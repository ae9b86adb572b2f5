// The report building blocks (Markdown, front matter, parameters, HTML, SVG charts) are part of this module's
// API, and visible to every file here without an import of their own.
@_exported import VPReport
