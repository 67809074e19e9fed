import { runConformance } from "./suite.js";
import { postgresTarget } from "./postgres.target.js";

runConformance(postgresTarget);
