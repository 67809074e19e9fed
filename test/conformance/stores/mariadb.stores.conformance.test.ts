import { runInboxConformance } from "./inbox.suite.js";
import { runOutboxConformance } from "./outbox.suite.js";
import { mysqlTarget } from "./mysql.target.js";

runInboxConformance(mysqlTarget);
runOutboxConformance(mysqlTarget);
