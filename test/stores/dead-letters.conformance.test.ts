/** The database dead-letter store suite on every database it supports. */
import { runDeadLetterConformance } from "../conformance/stores/dead-letters.suite.js";
import { mariadbDeadLetterTarget, postgresDeadLetterTarget, sqliteDeadLetterTarget } from "../conformance/stores/dead-letters.target.js";

runDeadLetterConformance(sqliteDeadLetterTarget);
runDeadLetterConformance(postgresDeadLetterTarget);
runDeadLetterConformance(mariadbDeadLetterTarget);
