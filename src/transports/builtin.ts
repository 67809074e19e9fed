/**
 * The transports that ship in the package register their URL schemes here.
 * Each register.ts is a few lines with no broker client import: a broker's
 * client loads only when its scheme is used. Each inbox-handle.ts declares,
 * types only, what `ctx.transaction` hands a handler on a bus made from that
 * scheme's URL with its own inbox (runtime/inbox-handles.ts).
 */
import "./memory/register.js";
import "./nats/register.js";
import "./postgres/register.js";
import "./rabbitmq/register.js";
import "./redis/register.js";
import "./sqlite/register.js";
import "./memory/inbox-handle.js";
import "./nats/inbox-handle.js";
import "./postgres/inbox-handle.js";
import "./rabbitmq/inbox-handle.js";
import "./redis/inbox-handle.js";
import "./sqlite/inbox-handle.js";
