// Loaded with `--import` into a bench child when dist/ is fresh (compiled-missive.ts): registers the resolve hook of
// compiled-missive-resolve.mjs, so every import of a file under src/ loads its compiled twin under dist/ instead.
// Plain JavaScript: the hook runs on the loader's own thread, where tsx may not be there to compile TypeScript.
import { register } from "node:module";

register("./compiled-missive-resolve.mjs", import.meta.url);
