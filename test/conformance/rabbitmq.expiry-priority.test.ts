import { missive, type Bus } from "../../src/index.js";
import { rabbitmqTransport, type RabbitmqTransport } from "../../src/transports/rabbitmq/index.js";
import { createVhost } from "../support/rabbitmq.js";
import { runExpiryPriorityConformance } from "./expiry-priority.suite.js";
import { plainAmqp, rabbitmqTarget } from "./rabbitmq.target.js";
import type { ConformanceTarget } from "./target.js";

/** Classic queues with `priorities: true`: x-max-priority on every group queue, native priority for unkeyed messages. */
const classicWithPriorities: ConformanceTarget = {
  name: "rabbitmq classic, priorities on",
  capabilities: { ...rabbitmqTarget.capabilities, priorities: 10 },
  async setup() {
    const vhost = await createVhost("expiry-priority");
    const plain = await plainAmqp(vhost.url);
    const transports: RabbitmqTransport[] = [];
    return {
      leaseMs: 500,
      plain,
      async bus(options) {
        const transport = rabbitmqTransport({ url: vhost.url, reconnectMaxMs: 500, queueType: "classic", priorities: true });
        transports.push(transport);
        return missive({ service: "conformance", ...options, transport });
      },
      async kill(bus: Bus) {
        (bus.transport as RabbitmqTransport).destroy();
        await bus.close({ deadline: 0 });
      },
      async teardown() {
        await Promise.all(transports.map((t) => t.close().catch(() => undefined)));
        await plain.close().catch(() => undefined);
        await vhost.remove();
      },
    };
  },
};

// The default (quorum queues: no priorities, the runtime fills in) and classic priority queues.
runExpiryPriorityConformance(rabbitmqTarget);
runExpiryPriorityConformance(classicWithPriorities);
