import { runExpiryPriorityConformance } from "./expiry-priority.suite.js";
import { postgresTarget } from "./postgres.target.js";

runExpiryPriorityConformance(postgresTarget);
