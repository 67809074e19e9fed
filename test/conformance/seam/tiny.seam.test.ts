/** The seam suite on examples/tiny-transport.ts, the walkthrough's transport: proof that its line count is a whole transport. */
import { runSeamSuite, seamFeatures } from "../../../src/testing/index.js";
import { tinyTransport, type TinyBroker } from "../../../examples/tiny-transport.js";

let broker: TinyBroker = new Map();

runSeamSuite({
  name: "tiny (examples/tiny-transport.ts)",
  features: seamFeatures(tinyTransport(new Map()), { leases: false, exactAttempts: true, countsConsumers: false }),
  beforeEach: async () => {
    broker = new Map();
  },
  open: () => tinyTransport(broker),
});
