/**
 * A consumer's lifecycle: the state it is in, one promise that settles when
 * it stops (with the error that stopped it, if any), and one report per
 * change. A consumer that stops on its own (its start failed, or a handler
 * threw a configuration or authentication error) is `failed`, so nobody has
 * to read logs to learn that it no longer consumes.
 */

/**
 * `starting` until the subscription is live, `running` while it consumes,
 * `stopping` while it closes, then `stopped` (closed by its owner) or
 * `failed` (stopped by an error: `Consumer.stopped` resolves with it).
 */
export type ConsumerState = "starting" | "running" | "stopping" | "stopped" | "failed";

/** Told of every change of state; `error` is set when the consumer failed. */
export type ConsumerStateListener = (state: ConsumerState, error: unknown) => void;

export class ConsumerLifecycle {
  private current: ConsumerState = "starting";
  private failure: unknown;
  /** Assigned by the promise's executor, which runs before the constructor body. */
  private settle!: (error: unknown) => void;
  /** Resolves once the consumer has stopped: with the error that stopped it, or `undefined` when it was closed. */
  readonly stopped: Promise<unknown> = new Promise((resolve) => (this.settle = resolve));

  /** `onChange` is optional: the consumer's state is readable without a listener. */
  constructor(private readonly onChange?: ConsumerStateListener) {}

  get state(): ConsumerState {
    return this.current;
  }

  /** The error that stopped the consumer, once it failed. */
  get error(): unknown {
    return this.failure;
  }

  /** The subscription is live (ignored once the consumer stops or failed). */
  running(): void {
    if (this.current === "starting") this.change("running");
  }

  /** An error stops the consumer: the first one is kept, the state is `failed` from now on. */
  fail(error: unknown): void {
    if (this.current === "failed" || this.current === "stopped") return;
    this.failure = error;
    this.change("failed");
  }

  /** Closing began; a failed consumer stays `failed` while it closes. */
  stopping(): void {
    if (this.current === "starting" || this.current === "running") this.change("stopping");
  }

  /** Closing ended: `stopped`, or still `failed`; the promise settles. */
  closed(): void {
    if (this.current !== "failed" && this.current !== "stopped") this.change("stopped");
    this.settle(this.failure);
  }

  private change(state: ConsumerState): void {
    this.current = state;
    this.onChange?.(state, this.failure);
  }
}
