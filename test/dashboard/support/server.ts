/** A dashboard handler on a real node:http server on a free loopback port, for the tests. */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { dashboardHandler, type DashboardOptions } from "../../../src/dashboard/index.js";

export interface TestServer {
  readonly url: string;
  readonly server: Server;
  close(): Promise<void>;
}

export async function serveDashboard(options: DashboardOptions, prefix = ""): Promise<TestServer> {
  const handler = dashboardHandler({ ...options, ...(prefix === "" ? {} : { prefix }) });
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${prefix}/`,
    server,
    close: async () => {
      handler.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}
