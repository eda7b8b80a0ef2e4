// Parse mermaid diagrams with mermaid's own parser; print the ones it rejects.
// stdin: JSON list of {"where": "<file and cell or line>", "source": "<diagram text>"}.
// stdout: JSON list of {"where", "error"}, one per diagram mermaid cannot parse ([] when all do).
const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const blocks = JSON.parse(Buffer.concat(chunks).toString("utf8"));
const valid = (b) => typeof b?.where === "string" && typeof b?.source === "string";
if (!Array.isArray(blocks) || !blocks.every(valid)) {
  console.error('check.mjs: stdin must be a JSON list of {"where": string, "source": string}');
  process.exit(2);
}

// mermaid sanitises labels with DOMPurify, which binds to a browser window when first loaded.
const { JSDOM } = await import("jsdom");
const { window } = new JSDOM("");
globalThis.window = window;
globalThis.document = window.document;
const { default: mermaid } = await import("mermaid");

mermaid.initialize({ startOnLoad: false });
const failures = [];
for (const { where, source } of blocks) {
  try {
    await mermaid.parse(source);
  } catch (error) {
    failures.push({ where, error: String(error?.message ?? error) });
  }
}
process.stdout.write(JSON.stringify(failures) + "\n");
