import { runAttributeConformance } from "./attributes.suite.js";
import { redisTarget } from "./redis.target.js";

runAttributeConformance(redisTarget);
