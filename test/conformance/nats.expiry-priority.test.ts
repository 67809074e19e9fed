import { runExpiryPriorityConformance } from "./expiry-priority.suite.js";
import { natsTarget } from "./nats.target.js";

runExpiryPriorityConformance(natsTarget);
