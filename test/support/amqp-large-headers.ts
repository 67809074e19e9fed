/**
 * A plain AMQP publisher that can send header tables up to the broker's
 * frame_max (128 KiB by default). amqplib encodes a header table into a
 * 64 KiB buffer, so other clients can send what it cannot; this one writes
 * the content header frame itself (AMQP 0-9-1 §4.2.6, basic properties in
 * flag order) on an amqplib confirm channel, which does everything else:
 * the connection, the channel, the confirm. Header values are strings
 * (long strings) or booleans.
 */
import amqp, { type ConfirmChannel } from "amqplib";

export type RawHeaders = Record<string, string | boolean>;

export interface LargeHeaderPublisher {
  /** Publish to `exchange` (fanout: every bound queue) with a confirm. */
  publish(exchange: string, headers: RawHeaders, body: Uint8Array, properties?: { contentType?: string; messageId?: string }): Promise<void>;
  close(): Promise<void>;
}

interface PublishFields {
  readonly exchange: string;
  readonly routingKey: string;
  readonly mandatory?: boolean;
  readonly immediate?: boolean;
}

interface PublishProperties {
  readonly headers?: RawHeaders;
  readonly contentType?: string;
  readonly messageId?: string;
  readonly deliveryMode?: number;
}

/** amqplib's channel internals this publisher writes through (its channel number and write buffer). */
interface ChannelInternals {
  readonly ch: number;
  readonly connection: { readonly channels: Array<{ readonly buffer: { write(frame: Buffer): boolean } } | undefined> };
  sendMessage(fields: PublishFields, properties: PublishProperties, content: Buffer): boolean;
}

const FRAME_END = 0xce;

export async function largeHeaderPublisher(url: string): Promise<LargeHeaderPublisher> {
  const connection = await amqp.connect(url);
  const ch: ConfirmChannel = await connection.createConfirmChannel();
  const internals = ch as unknown as ChannelInternals;
  internals.sendMessage = (fields, properties, content) => {
    const channel = internals.ch;
    const frames = Buffer.concat([methodFrame(channel, fields), headerFrame(channel, content.byteLength, properties), bodyFrame(channel, content)]);
    return internals.connection.channels[channel]!.buffer.write(frames);
  };
  return {
    async publish(exchange, headers, body, properties = {}) {
      await ch.assertExchange(exchange, "fanout", { durable: true });
      await new Promise<void>((resolve, reject) => {
        ch.publish(exchange, "", Buffer.from(body), { persistent: true, headers, ...properties }, (err: unknown) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve()));
      });
    },
    close: () => connection.close(),
  };
}

function frame(type: number, channel: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(7);
  head.writeUInt8(type, 0);
  head.writeUInt16BE(channel, 1);
  head.writeUInt32BE(payload.byteLength, 3);
  return Buffer.concat([head, payload, Buffer.from([FRAME_END])]);
}

function shortString(value: string): Buffer {
  const bytes = Buffer.from(value, "utf8");
  if (bytes.byteLength > 255) throw new RangeError(`short string of ${bytes.byteLength} bytes`);
  return Buffer.concat([Buffer.from([bytes.byteLength]), bytes]);
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n, 0);
  return b;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n, 0);
  return b;
}

/** basic.publish (class 60, method 40). */
function methodFrame(channel: number, fields: PublishFields): Buffer {
  const bits = (fields.mandatory === true ? 1 : 0) | (fields.immediate === true ? 2 : 0);
  return frame(1, channel, Buffer.concat([u16(60), u16(40), u16(0), shortString(fields.exchange), shortString(fields.routingKey), Buffer.from([bits])]));
}

function table(headers: RawHeaders): Buffer {
  const parts: Buffer[] = [];
  // amqplib hands the headers over as the prototype of a fresh object (CC/BCC on top): walk inherited names too.
  for (const name in headers) {
    const value = headers[name]!;
    parts.push(shortString(name));
    if (typeof value === "boolean") parts.push(Buffer.from([0x74, value ? 1 : 0]));
    else {
      const bytes = Buffer.from(value, "utf8");
      parts.push(Buffer.from([0x53]), u32(bytes.byteLength), bytes);
    }
  }
  const entries = Buffer.concat(parts);
  return Buffer.concat([u32(entries.byteLength), entries]);
}

/** The content header: class 60, weight 0, body size, property flags, then the properties present in flag order. */
function headerFrame(channel: number, bodySize: number, properties: PublishProperties): Buffer {
  let flags = 0;
  const list: Buffer[] = [];
  if (properties.contentType !== undefined) {
    flags |= 0x8000;
    list.push(shortString(properties.contentType));
  }
  if (properties.headers !== undefined) {
    flags |= 0x2000;
    list.push(table(properties.headers));
  }
  if (properties.deliveryMode !== undefined) {
    flags |= 0x1000;
    list.push(Buffer.from([properties.deliveryMode]));
  }
  if (properties.messageId !== undefined) {
    flags |= 0x0080;
    list.push(shortString(properties.messageId));
  }
  const size = Buffer.alloc(8);
  size.writeBigUInt64BE(BigInt(bodySize), 0);
  return frame(2, channel, Buffer.concat([u16(60), u16(0), size, u16(flags), ...list]));
}

function bodyFrame(channel: number, content: Buffer): Buffer {
  return frame(3, channel, content);
}
