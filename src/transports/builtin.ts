/**
 * The transports that ship in the package register their URL schemes here.
 * Each register.ts is a few lines with no broker client import: a broker's
 * client loads only when its scheme is used.
 */
import "./memory/register.js";
import "./rabbitmq/register.js";
import "./sqlite/register.js";
