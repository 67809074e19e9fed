import { runExpiryPriorityConformance } from "./expiry-priority.suite.js";
import { sqliteTarget } from "./sqlite.target.js";

runExpiryPriorityConformance(sqliteTarget);
