/** The bus suite on Redis Streams, on the shared redis-server (127.0.0.1:6379), each test under a key prefix of its own. */
import { redisTarget } from "./redis.target.js";
import { runConformance } from "./suite.js";

runConformance(redisTarget);
