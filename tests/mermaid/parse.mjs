// Parse Mermaid text with mermaid's own parser (mermaid.parse), in node with a jsdom window.
// Usage: node parse.mjs FILE...   Prints one JSON line per file: {"file", "ok", "diagramType" | "error"}.
// Exits 1 when any file does not parse.
import { readFileSync } from "node:fs";
import { JSDOM } from "jsdom";

const dom = new JSDOM("<!DOCTYPE html><body></body>", { pretendToBeVisual: true });
globalThis.window = dom.window;
globalThis.document = dom.window.document;
globalThis.DOMParser = dom.window.DOMParser;
const { default: mermaid } = await import("mermaid");
mermaid.initialize({ startOnLoad: false });

let failed = false;
for (const file of process.argv.slice(2)) {
  try {
    const result = await mermaid.parse(readFileSync(file, "utf8"));
    console.log(JSON.stringify({ file, ok: true, diagramType: result.diagramType }));
  } catch (error) {
    failed = true;
    console.log(JSON.stringify({ file, ok: false, error: String(error?.message ?? error) }));
  }
}
process.exit(failed ? 1 : 0);
