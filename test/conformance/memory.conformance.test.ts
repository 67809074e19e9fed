import { runConformance } from "./suite.js";
import { memoryTarget } from "./memory.target.js";

runConformance(memoryTarget);
