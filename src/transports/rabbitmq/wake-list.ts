/**
 * Receivers waiting for pushed messages: `wait(ms)` resolves when `wake()`
 * is called or after `ms`, whichever comes first. AMQP pushes; the seam pulls.
 */
export class WakeList {
  private waiters: Array<() => void> = [];

  wait(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiters.push(done);
    });
  }

  wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}
