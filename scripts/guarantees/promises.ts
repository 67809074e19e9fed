/**
 * The promises of docs/guarantees.md, each with the test titles that prove
 * it. A title is the test's full name (`describe > it`) as vitest lists it;
 * a test proves a promise on the transport its file and name say (see
 * columns.ts). A promise no listed test matches on a transport is printed
 * "not proven": the matrix never claims what no test checked.
 */
export interface Promise_ {
  readonly id: string;
  readonly promise: string;
  /** A test whose full name matches any of these proves the promise on its column. */
  readonly titles: readonly RegExp[];
  /** Only tests in files whose path matches (e.g. the fault tests), when set. */
  readonly files?: RegExp;
  /** Columns where the fault or feature cannot happen, with why; printed instead of "not proven". */
  readonly doesNotApply?: Readonly<Record<string, string>>;
}

const IN_PROCESS = "the broker is in the process: nothing outlives it";
const NO_NETWORK = "no network: the queue is a local file";

export const PROMISES: readonly Promise_[] = [
  {
    id: "at-least-once",
    promise: "At-least-once: a message is acked only after its handler; what a consumer did not finish is delivered again",
    titles: [/ack - only after the handler/, /volume - .*none lost/, /close - under load, nothing is lost/, /cluster[^>]*> [^>]*lost (confirmed )?0/],
  },
  {
    id: "effectively-once",
    promise: "Effectively once with the inbox: duplicate deliveries have one effect",
    titles: [/inbox - each effect happens once under duplicate deliveries/, /double effects 0 with the inbox/, /cluster[^>]*> [^>]*double effects 0/, /redrive - keeps the message id, and the inbox deduplicates it/],
  },
  {
    id: "order-in-process",
    promise: "Key order in one process: a key's messages are handled in publish order, through retries, under concurrency",
    titles: [/ordering - per-key order under concurrency/, /ordering - a retrying message holds back only its own key/, /cluster[^>]*> [^>]*order violations 0/],
  },
  {
    id: "order-across-processes",
    promise: "Key order across processes: consumers in several processes keep each key in publish order",
    titles: [/key order across processes/, /processes[^>]*order violations 0/],
    doesNotApply: { memory: "one process: the memory broker lives in it" },
  },
  {
    id: "no-loss-broker-restart",
    promise: "No confirmed message lost when the broker is killed and restarts, or (replicated) when a node is killed and the others carry on",
    titles: [/(node|broker)[^>]*SIGKILLed[^>]*lost (confirmed )?0/i, /(SIGKILL|kill)[^>]*leader|leader[^>]*(SIGKILL|kill)/i, /SIGKILL and restart of the server[^>]*loses no confirmed message/i],
    files: /^test\/faults\//,
    doesNotApply: { memory: IN_PROCESS, sqlite: "no broker process: the queue is a file, written before a publish is confirmed" },
  },
  {
    id: "no-loss-consumer-sigkill",
    promise: "No loss when a consumer process is SIGKILLed mid-handler",
    titles: [/consumers? SIGKILLed[^>]*lost 0/i, /consumer[^>]*SIGKILLed/i, /ordered consumer processes SIGKILLed/],
    files: /^test\/(faults|transports)\//,
    doesNotApply: { memory: IN_PROCESS },
  },
  {
    id: "no-loss-producer-sigkill",
    promise: "No confirmed message lost when a producer process is SIGKILLed",
    titles: [/producer SIGKILLed/i],
    files: /^test\/faults\//,
    doesNotApply: { memory: IN_PROCESS },
  },
  {
    id: "no-loss-network",
    promise: "No loss through connection resets and a blackholed network",
    // A blackholed LISTEN connection (postgres-listen-halfopen) proves wake-ups come back, not that nothing is lost.
    titles: [/reset[^>]*lost 0/i, /^(?!.*LISTEN connection).*blackhole/i],
    files: /^test\/faults\//,
    doesNotApply: { memory: IN_PROCESS, sqlite: NO_NETWORK },
  },
  {
    id: "dead-letters",
    promise: "Dead letters with diagnostics: a message past its attempts, or poison, is dead-lettered with the reason, never dropped",
    titles: [/the attempt budget dead-letters with diagnostics/, /poison - .*dead-lettered at once with the reason/, /deadLetter moves the message into the store with the headers given/],
  },
  {
    id: "replay",
    promise: "Replay is at-least-once: replayed dead letters keep their ids; a replay killed part-way loses none",
    titles: [/discard and replay by query.*ids kept/, /dlq replay SIGKILLed part-way/, /dead letters: replay puts messages back/],
  },
  {
    id: "never-drop-producer",
    promise: "The producer never drops: with a spool, publishes during an outage are kept and all arrive afterwards",
    titles: [/spool: /],
    files: /^test\/faults\//,
    doesNotApply: { memory: IN_PROCESS },
  },
  {
    id: "unroutable",
    promise: "A publish nobody is bound to fails with a typed error, not a silent drop",
    titles: [/a message nobody is bound to is an UnroutableError/, /no group is bound to fails alone with UnroutableError/],
  },
  {
    id: "delayed-retries",
    promise: "Delayed retries: the delay ladder is honoured, and a delayed message holds back no other",
    titles: [/retry - the delay ladder is honoured/, /delay - a delayed publish is not delivered before its time/, /retry\(delay, headers\) redelivers no sooner than the delay/],
  },
  {
    id: "expiry",
    promise: "Expiry: an expired message is dead-lettered with reason expired, never handled",
    titles: [/> expiry - /],
  },
  {
    id: "priorities",
    promise: "Priorities: higher priority first, never reordering one key",
    titles: [/> priority - /],
  },
  {
    id: "request-reply",
    promise: "Request-reply: the reply comes back; an unanswered request times out with a typed error",
    titles: [/request-reply - the reply comes back/],
  },
  {
    id: "timeout",
    promise: "A handler past its timeout fails its attempt (retryable) and sees its signal abort",
    titles: [/timeout - a handler past its timeout/],
  },
  {
    id: "never-resolving-handler",
    promise: "A handler that never resolves does not stall the consumer or its close",
    titles: [/never[- ]resolv/i, /never settles/i],
  },
  {
    id: "hostile-handler",
    promise: "A hostile handler (throws undefined, a Proxy whose traps throw, an error whose getters throw) cannot break the consumer: retried, then dead-lettered, nothing held",
    titles: [/hostile handler/i, /a handler throwing .* is retried, then dead-lettered/i],
  },
  {
    id: "oversized-headers",
    promise: "Oversized headers are refused with a typed error (publish) or dead-lettered (consume)",
    titles: [/oversized headers|headers over/i, /messages with [\d,]+ headers are dead-lettered/i],
  },
];
