import { runAttributeConformance } from "./attributes.suite.js";
import { postgresTarget } from "./postgres.target.js";

runAttributeConformance(postgresTarget);
