/**
 * A small Redis client for the BullMQ peer, used only when `ioredis` is not
 * installed: BullMQ 6 made its Redis driver an optional peer dependency and
 * accepts any object implementing its `IRedisClient` port. This one speaks
 * RESP2 over one pipelined socket (like ioredis), returns replies in ioredis'
 * shapes (bulk strings as UTF-8 strings, integers as numbers), and runs
 * BullMQ's Lua scripts with EVALSHA, falling back to EVAL on NOSCRIPT.
 *
 * No reconnects and no cluster: a bench run either reaches the local Redis or
 * reports the peer as skipped.
 */
import { createHash } from "node:crypto";
import { EventEmitter } from "node:events";
import { connect, type Socket } from "node:net";
import { Readable } from "node:stream";

type Arg = string | number | Buffer;
type Reply = string | number | null | Error | Reply[];

export interface RespOptions {
  host: string;
  port: number;
  connectionName?: string;
  [k: string]: unknown;
}

const CLOSED = "Connection is closed.";

interface Script {
  readonly sha: string;
  readonly lua: string;
  readonly keys: number;
}

/** Incremental RESP2 reader: `read()` returns the next complete reply, or NEED_MORE. */
class RespReader {
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  static readonly NEED_MORE = Symbol("need-more");

  push(chunk: Buffer): void {
    this.buf = this.pos < this.buf.length ? Buffer.concat([this.buf.subarray(this.pos), chunk]) : chunk;
    this.pos = 0;
  }

  read(): Reply | typeof RespReader.NEED_MORE {
    const start = this.pos;
    const value = this.parse();
    if (value === RespReader.NEED_MORE) this.pos = start;
    return value;
  }

  private line(): string | undefined {
    const end = this.buf.indexOf("\r\n", this.pos, "latin1");
    if (end < 0) return undefined;
    const text = this.buf.toString("utf8", this.pos, end);
    this.pos = end + 2;
    return text;
  }

  private parse(): Reply | typeof RespReader.NEED_MORE {
    if (this.pos >= this.buf.length) return RespReader.NEED_MORE;
    const type = this.buf[this.pos++];
    const line = this.line();
    if (line === undefined) return RespReader.NEED_MORE;
    switch (type) {
      case 0x2b: // +
        return line;
      case 0x2d: // -
        return new Error(line);
      case 0x3a: // :
        return Number(line);
      case 0x24: { // $
        const len = Number(line);
        if (len < 0) return null;
        if (this.pos + len + 2 > this.buf.length) return RespReader.NEED_MORE;
        const text = this.buf.toString("utf8", this.pos, this.pos + len);
        this.pos += len + 2;
        return text;
      }
      case 0x2a: { // *
        const n = Number(line);
        if (n < 0) return null;
        const out: Reply[] = [];
        for (let i = 0; i < n; i++) {
          const item = this.parse();
          if (item === RespReader.NEED_MORE) return item;
          out.push(item);
        }
        return out;
      }
      default:
        throw new Error(`RESP: unexpected reply type ${String(type)}`);
    }
  }
}

function encode(args: readonly Arg[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = Buffer.isBuffer(a) ? a : Buffer.from(String(a));
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from("\r\n"));
  }
  return Buffer.concat(parts);
}

function scriptArgs(script: Script, given: unknown[]): Arg[] {
  const args = given.length === 1 && Array.isArray(given[0]) ? (given[0] as unknown[]) : given;
  return args.map((a) => (Buffer.isBuffer(a) ? a : a === undefined || a === null ? "" : String(a)));
}

export class RespClient extends EventEmitter {
  status = "connecting";
  readonly isCluster = false;
  options: RespOptions;
  private readonly socket: Socket;
  private readonly reader = new RespReader();
  private readonly pending: Array<{ resolve: (r: Reply) => void; reject: (e: Error) => void }> = [];
  private readonly scripts: Map<string, Script>;
  private readonly ready: Promise<void>;

  constructor(options: RespOptions, scripts = new Map<string, Script>()) {
    super();
    this.options = { ...options, maxRetriesPerRequest: null };
    this.scripts = new Map(scripts);
    for (const name of this.scripts.keys()) this.exposeScript(name);
    this.socket = connect({ host: options.host, port: options.port, noDelay: true });
    this.ready = new Promise<void>((resolve, reject) => {
      this.socket.once("connect", () => {
        const named = options.connectionName ? this.call("CLIENT", "SETNAME", options.connectionName) : Promise.resolve(null);
        void named.then(() => {
          this.status = "ready";
          this.emit("connect");
          this.emit("ready");
          resolve();
        }, reject);
      });
      this.socket.once("error", reject);
    });
    this.ready.catch(() => undefined);
    this.socket.on("data", (chunk) => this.onData(chunk));
    this.socket.on("error", (err) => {
      if (this.listenerCount("error") > 0) this.emit("error", err);
    });
    this.socket.on("close", () => this.ended());
  }

  connect(): Promise<void> {
    return this.ready;
  }

  /** Send one command; resolves with its reply (rejects on an error reply). */
  call(...args: Arg[]): Promise<Reply> {
    if (this.status === "end") return Promise.reject(new Error(CLOSED));
    return new Promise<Reply>((resolve, reject) => {
      this.pending.push({
        resolve: (r) => (r instanceof Error ? reject(r) : resolve(r)),
        reject,
      });
      this.socket.write(encode(args));
    });
  }

  /** Send several commands in one write; resolves with every reply (errors as values). */
  private callMany(commands: readonly Arg[][]): Promise<Reply[]> {
    if (this.status === "end") return Promise.reject(new Error(CLOSED));
    return Promise.all(
      commands.map(
        (args) =>
          new Promise<Reply>((resolve, reject) => {
            this.pending.push({ resolve, reject });
            this.socket.write(encode(args));
          }),
      ),
    );
  }

  private onData(chunk: Buffer): void {
    this.reader.push(chunk);
    for (;;) {
      const reply = this.reader.read();
      if (reply === RespReader.NEED_MORE) return;
      this.pending.shift()?.resolve(reply);
    }
  }

  private ended(): void {
    if (this.status === "end" && this.pending.length === 0) return;
    this.status = "end";
    for (const p of this.pending.splice(0)) p.reject(new Error(CLOSED));
    this.emit("close");
    this.emit("end");
  }

  disconnect(): void {
    this.status = "end";
    for (const p of this.pending.splice(0)) p.reject(new Error(CLOSED));
    this.socket.destroy();
    this.emit("close");
    this.emit("end");
  }

  async quit(): Promise<string> {
    if (this.status !== "end") await this.call("QUIT").catch(() => undefined);
    this.disconnect();
    return "OK";
  }

  duplicate(overrides?: Partial<RespOptions>): RespClient {
    return new RespClient({ ...this.options, ...overrides }, this.scripts);
  }

  defineCommand(name: string, definition: { numberOfKeys: number; lua: string }): void {
    const sha = createHash("sha1").update(definition.lua).digest("hex");
    this.scripts.set(name, { sha, lua: definition.lua, keys: definition.numberOfKeys });
    this.exposeScript(name);
    void this.call("SCRIPT", "LOAD", definition.lua).catch(() => undefined);
  }

  private exposeScript(name: string): void {
    (this as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => this.runCommand(name, args);
  }

  private script(name: string): Script {
    const script = this.scripts.get(name);
    if (!script) throw new Error(`unknown command ${name}`);
    return script;
  }

  async runCommand(name: string, args: unknown[]): Promise<Reply> {
    const script = this.script(name);
    const argv = scriptArgs(script, args);
    try {
      return await this.call("EVALSHA", script.sha, script.keys, ...argv);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith("NOSCRIPT")) throw err;
      return this.call("EVAL", script.lua, script.keys, ...argv);
    }
  }

  multi(): RespTransaction {
    return new RespTransaction(true, (cmds) => this.callMany(cmds), (n) => this.script(n));
  }

  pipeline(): RespTransaction {
    return new RespTransaction(false, (cmds) => this.callMany(cmds), (n) => this.script(n));
  }

  async hgetall(key: string): Promise<Record<string, string>> {
    return pairs((await this.call("HGETALL", key)) as string[]);
  }
  async hget(key: string, field: string): Promise<string | null> {
    return (await this.call("HGET", key, field)) as string | null;
  }
  async hmget(key: string, ...fields: string[]): Promise<(string | null)[]> {
    return (await this.call("HMGET", key, ...fields)) as (string | null)[];
  }
  async hset(key: string, data: Record<string, string | number>): Promise<number> {
    return (await this.call("HSET", key, ...flat(data))) as number;
  }
  async hdel(key: string, ...fields: string[]): Promise<number> {
    return (await this.call("HDEL", key, ...fields)) as number;
  }
  async hexists(key: string, field: string): Promise<number> {
    return (await this.call("HEXISTS", key, field)) as number;
  }
  async get(key: string): Promise<string | null> {
    return (await this.call("GET", key)) as string | null;
  }
  async set(key: string, value: string | number, options?: { PX?: number; EX?: number }): Promise<string | null> {
    const extra: Arg[] = options?.PX !== undefined ? ["PX", options.PX] : options?.EX !== undefined ? ["EX", options.EX] : [];
    return (await this.call("SET", key, value, ...extra)) as string | null;
  }
  async del(...keys: string[]): Promise<number> {
    return keys.length === 0 ? 0 : ((await this.call("DEL", ...keys)) as number);
  }
  async zrange(key: string, start: number, end: number, options?: { WITHSCORES?: boolean }): Promise<string[]> {
    return (await this.call("ZRANGE", key, start, end, ...(options?.WITHSCORES ? ["WITHSCORES"] : []))) as string[];
  }
  async zrevrange(key: string, start: number, end: number, options?: { WITHSCORES?: boolean }): Promise<string[]> {
    return (await this.call("ZREVRANGE", key, start, end, ...(options?.WITHSCORES ? ["WITHSCORES"] : []))) as string[];
  }
  async zcard(key: string): Promise<number> {
    return (await this.call("ZCARD", key)) as number;
  }
  async zscore(key: string, member: string): Promise<string | null> {
    return (await this.call("ZSCORE", key, member)) as string | null;
  }
  async lrange(key: string, start: number, end: number): Promise<string[]> {
    return (await this.call("LRANGE", key, start, end)) as string[];
  }
  async llen(key: string): Promise<number> {
    return (await this.call("LLEN", key)) as number;
  }
  async ltrim(key: string, start: number, end: number): Promise<string> {
    return (await this.call("LTRIM", key, start, end)) as string;
  }
  async lpos(key: string, value: string): Promise<number | null> {
    return (await this.call("LPOS", key, value)) as number | null;
  }
  async smembers(key: string): Promise<string[]> {
    return (await this.call("SMEMBERS", key)) as string[];
  }
  async xadd(key: string, id: string, fields: Record<string, string | number>, options?: { MAXLEN?: number; approximate?: boolean }): Promise<string> {
    const trim: Arg[] = options?.MAXLEN !== undefined ? ["MAXLEN", ...(options.approximate ? ["~"] : []), options.MAXLEN] : [];
    return (await this.call("XADD", key, ...trim, id, ...flat(fields))) as string;
  }
  async xread(streams: { key: string; id: string }[], options?: { BLOCK?: number; COUNT?: number }): Promise<Reply> {
    const opts: Arg[] = [...(options?.COUNT !== undefined ? ["COUNT", options.COUNT] : []), ...(options?.BLOCK !== undefined ? ["BLOCK", options.BLOCK] : [])];
    return this.call("XREAD", ...opts, "STREAMS", ...streams.map((s) => s.key), ...streams.map((s) => s.id));
  }
  async xtrim(key: string, strategy: "MAXLEN", threshold: number, options?: { approximate?: boolean }): Promise<number> {
    return (await this.call("XTRIM", key, strategy, ...(options?.approximate ? ["~"] : []), threshold)) as number;
  }
  async bzpopmin(key: string, timeout: number): Promise<[string, string, string] | null> {
    return (await this.call("BZPOPMIN", key, timeout)) as [string, string, string] | null;
  }
  async info(): Promise<string> {
    return (await this.call("INFO")) as string;
  }
  clientSetName(name: string): Promise<Reply> {
    return this.call("CLIENT", "SETNAME", name);
  }
  async clientList(): Promise<string> {
    return (await this.call("CLIENT", "LIST")) as string;
  }
  async clientInfo(): Promise<string> {
    return (await this.call("CLIENT", "INFO")) as string;
  }
  async scan(cursor: string | number, options: { MATCH?: string; COUNT?: number }): Promise<[string, string[]]> {
    const opts: Arg[] = [...(options.MATCH !== undefined ? ["MATCH", options.MATCH] : []), ...(options.COUNT !== undefined ? ["COUNT", options.COUNT] : [])];
    return (await this.call("SCAN", cursor, ...opts)) as [string, string[]];
  }
  scanStream(options: { match: string; count?: number }): Readable {
    let cursor = "0";
    let done = false;
    const stream: Readable = new Readable({
      objectMode: true,
      read: () => {
        if (done) return;
        this.scan(cursor, { MATCH: options.match, COUNT: options.count ?? 10 }).then(([next, keys]) => {
          cursor = next;
          done = next === "0";
          if (keys.length > 0) stream.push(keys);
          if (done) stream.push(null);
          // An empty page is not the end: ask for the next one.
          else if (keys.length === 0) stream.read(0);
        }, (err: Error) => stream.destroy(err));
      },
    });
    return stream;
  }
}

/** MULTI/EXEC (or a plain pipeline): queued commands sent in one write. */
class RespTransaction {
  private readonly commands: Arg[][] = [];

  constructor(
    private readonly atomic: boolean,
    private readonly send: (cmds: Arg[][]) => Promise<Reply[]>,
    private readonly scriptOf: (name: string) => Script,
  ) {}

  private add(...args: Arg[]): this {
    this.commands.push(args);
    return this;
  }
  hgetall(key: string): this { return this.add("HGETALL", key); }
  hset(key: string, data: Record<string, string | number>): this { return this.add("HSET", key, ...flat(data)); }
  hscan(key: string, cursor: string | number, options?: { COUNT?: number }): this {
    return this.add("HSCAN", key, cursor, ...(options?.COUNT !== undefined ? ["COUNT", options.COUNT] : []));
  }
  smembers(key: string): this { return this.add("SMEMBERS", key); }
  sscan(key: string, cursor: string | number, options?: { COUNT?: number }): this {
    return this.add("SSCAN", key, cursor, ...(options?.COUNT !== undefined ? ["COUNT", options.COUNT] : []));
  }
  zrange(key: string, start: number, end: number): this { return this.add("ZRANGE", key, start, end); }
  lrange(key: string, start: number, end: number): this { return this.add("LRANGE", key, start, end); }
  llen(key: string): this { return this.add("LLEN", key); }
  del(...keys: string[]): this { return this.add("DEL", ...keys); }
  runCommand(name: string, args: unknown[]): this {
    const script = this.scriptOf(name);
    // Scripts are loaded when defined, so EVALSHA works inside MULTI.
    return this.add("EVALSHA", script.sha, script.keys, ...scriptArgs(script, args));
  }

  async exec(): Promise<[Error | null, unknown][] | null> {
    if (!this.atomic) return (await this.send(this.commands)).map((r) => (r instanceof Error ? [r, null] : [null, r]));
    const replies = await this.send([["MULTI"], ...this.commands, ["EXEC"]]);
    const result = replies[replies.length - 1];
    if (result === null) return null;
    if (result instanceof Error) throw result;
    return (result as Reply[]).map((r) => (r instanceof Error ? [r, null] : [null, r]));
  }
}

function pairs(list: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < list.length; i += 2) out[list[i]!] = list[i + 1]!;
  return out;
}

function flat(data: Record<string, string | number>): Arg[] {
  const out: Arg[] = [];
  for (const k of Object.keys(data)) out.push(k, data[k]!);
  return out;
}
