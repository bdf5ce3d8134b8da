// Builds the page into dist/: what install.sh copies to /usr/share/cockpit/containerctl/.
// `node build.mjs --watch` rebuilds on every change (link dist/ into ~/.local/share/cockpit/ to try it).
import { build, context } from "esbuild";
import { cpSync, mkdirSync, rmSync } from "node:fs";

const options = {
    entryPoints: ["src/index.jsx"],
    bundle: true,
    outdir: "dist",
    minify: true,
    target: "es2020",
    jsx: "automatic",
    // Fonts and pictures of PatternFly's stylesheet: files next to index.css, served by Cockpit.
    loader: { ".woff2": "file", ".svg": "file" },
    assetNames: "assets/[name]-[hash]",
    define: { "process.env.NODE_ENV": '"production"' },
    legalComments: "linked",
    logLevel: "warning",
};

rmSync("dist", { recursive: true, force: true });
mkdirSync("dist");
for (const file of ["manifest.json", "index.html"]) cpSync(`src/${file}`, `dist/${file}`);

if (process.argv.includes("--watch")) {
    await (await context(options)).watch();
} else {
    await build(options);
}
