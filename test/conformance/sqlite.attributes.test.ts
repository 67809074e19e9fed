import { runAttributeConformance } from "./attributes.suite.js";
import { sqliteTarget } from "./sqlite.target.js";

runAttributeConformance(sqliteTarget);
