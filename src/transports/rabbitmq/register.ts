/** `amqp://` and `amqps://`: RabbitMQ. Loads amqplib only when used. */
import { registerTransport } from "../../transport/registry.js";

registerTransport({
  name: "rabbitmq",
  schemes: ["amqp", "amqps"],
  async open(url) {
    const mod = await import("./index.js");
    // RabbitMQ keeps no inbox of its own: pass one (`inbox:` in the bus options) for effectively-once handlers.
    return { transport: mod.rabbitmqTransport(url) };
  },
});
