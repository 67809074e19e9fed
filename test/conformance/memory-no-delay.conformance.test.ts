/** The whole bus suite on a broker without delay: the runtime's delay fill (ADR 008), as MQTT and Redis Streams will use it. */
import { runConformance } from "./suite.js";
import { memoryTargetWith } from "./memory.target.js";

runConformance(memoryTargetWith("memory without native delay", { nativeDelay: false }));
