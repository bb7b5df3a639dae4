// Bundles the page into chalicelib/web/ (which ships in the Lambda zip): app.js, app.css and
// index.html, which names the two with a hash of their content, so browsers may cache them
// for good and still load a new build at once. Prints each file's size, raw and gzipped.
import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

const source = new URL("./src/", import.meta.url);
const out = new URL("../chalicelib/web/", import.meta.url);

const bundled = await build({
  entryPoints: {
    app: new URL("main.ts", source).pathname,
    style: new URL("app.css", source).pathname,
  },
  bundle: true,
  minify: true,
  write: false,
  outdir: "out",
  format: "iife",
  // Browsers of the last few years; nothing here needs more.
  target: ["chrome109", "edge109", "firefox115", "safari16"],
  // Korean text as UTF-8, not \uXXXX escapes: smaller, and readable.
  charset: "utf8",
  legalComments: "eof",
  metafile: true,
  logLevel: "warning",
});

const [code, style] = ["app.js", "style.css"].map((name) => {
  const file = bundled.outputFiles.find((f) => f.path.endsWith(`/${name}`));
  if (!file) throw new Error(`esbuild wrote no ${name}`);
  return file.text;
});
const script = (await licenceNotice(bundled.metafile)) + code;

const version = (text) => createHash("sha256").update(text).digest("hex").slice(0, 12);
const page = (await readFile(new URL("index.html", source), "utf8"))
  .replaceAll("{{js_version}}", version(script))
  .replaceAll("{{css_version}}", version(style));

await mkdir(out, { recursive: true });
// index.html last: it is what `make web` checks, so a build that stops half-way is redone.
const files = [
  ["app.js", script],
  ["app.css", style],
  ["index.html", page],
];
for (const [name, text] of files) {
  await writeFile(new URL(name, out), text, "utf8");
  const raw = Buffer.byteLength(text);
  const zipped = gzipSync(text, { level: 9 }).length;
  console.log(`chalicelib/web/${name}: ${kb(raw)} (${kb(zipped)} gzip)`);
}

/** The packages bundled into the script, each with its licence and copyright line: the MIT
 * licence asks that its notice travel with every copy. */
async function licenceNotice(metafile) {
  const packages = new Set();
  for (const input of Object.keys(metafile.inputs)) {
    const found = input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\//);
    if (found) packages.add(found[1]);
  }
  const lines = [];
  for (const name of [...packages].sort()) {
    const folder = new URL(`./node_modules/${name}/`, import.meta.url);
    const meta = JSON.parse(await readFile(new URL("package.json", folder), "utf8"));
    const licenceFile = (await readdir(folder)).find((f) => /^licen[cs]e/i.test(f));
    const text = licenceFile ? await readFile(new URL(licenceFile, folder), "utf8") : "";
    const copyright =
      text
        .split("\n")
        .find((line) => /copyright/i.test(line))
        ?.trim() ?? "";
    lines.push(` * ${meta.name} ${meta.version} (${meta.license}) ${copyright}`);
  }
  return `/*! Bundled packages, each under its licence:\n${lines.join("\n")}\n */\n`;
}

function kb(bytes) {
  return `${(bytes / 1024).toFixed(1)} KB`;
}
