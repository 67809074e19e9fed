import { runInboxConformance } from "./inbox.suite.js";
import { runOutboxConformance } from "./outbox.suite.js";
import { postgresTarget } from "./postgres.target.js";

runInboxConformance(postgresTarget);
runOutboxConformance(postgresTarget);
