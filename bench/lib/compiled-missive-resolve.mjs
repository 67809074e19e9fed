// The resolve hook of compiled-missive-hook.mjs. It asks the next hook (tsx, which turns src/x.js into src/x.ts) first,
// then swaps a file under src/ for the one the build wrote under dist/; everything else resolves as before.
const SRC = new URL("../../src/", import.meta.url).href;
const DIST = new URL("../../dist/", import.meta.url).href;

export async function resolve(specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context);
  if (!resolved.url.startsWith(SRC) || !resolved.url.endsWith(".ts")) return resolved;
  return { ...resolved, url: `${DIST}${resolved.url.slice(SRC.length, -".ts".length)}.js`, format: "module" };
}
