import { runExpiryPriorityConformance } from "./expiry-priority.suite.js";
import { redisTarget } from "./redis.target.js";

runExpiryPriorityConformance(redisTarget);
