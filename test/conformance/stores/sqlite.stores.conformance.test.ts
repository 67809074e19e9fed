import { runInboxConformance } from "./inbox.suite.js";
import { runOutboxConformance } from "./outbox.suite.js";
import { sqliteStoreTarget } from "./sqlite.target.js";

runInboxConformance(sqliteStoreTarget);
runOutboxConformance(sqliteStoreTarget);
