import { runConformance } from "./suite.js";
import { sqliteTarget } from "./sqlite.target.js";

runConformance(sqliteTarget);
