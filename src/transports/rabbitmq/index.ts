/**
 * `missive/rabbitmq`: the RabbitMQ transport (amqplib is an optional peer dependency).
 */
export { rabbitmqTransport } from "./rabbitmq-transport.js";
export type { RabbitmqTransport } from "./rabbitmq-transport.js";
export { RABBITMQ_DEFAULTS } from "./options.js";
export type { RabbitmqQueueType, RabbitmqTransportOptions } from "./options.js";
