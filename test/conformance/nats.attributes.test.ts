import { runAttributeConformance } from "./attributes.suite.js";
import { natsTarget } from "./nats.target.js";

runAttributeConformance(natsTarget);
