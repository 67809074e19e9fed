/** The producer spool's SQLite file: opened by the bus when `publisher.spool` is set, and by `missive spool`. */
export { openSqliteSpool, type SqliteSpoolOptions } from "./sqlite-spool.js";
