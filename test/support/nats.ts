/** NATS test helpers: remove every stream a test prefix made on the shared server. */
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { natsNames } from "../../src/transports/nats/names.js";

export async function removeNatsPrefix(server: string, prefix: string): Promise<number> {
  const names = natsNames(prefix);
  const nc = await connect({ servers: [server] });
  try {
    const jsm = await jetstreamManager(nc);
    let removed = 0;
    for (const stream of await jsm.streams.names().next()) {
      if (names.topicOfStream(stream) === undefined && names.groupOfStream(stream) === undefined && stream !== names.deadLetterStream() && stream !== names.lockStream() && stream !== names.statusStream()) continue;
      await jsm.streams.delete(stream);
      removed++;
    }
    return removed;
  } finally {
    await nc.close();
  }
}
