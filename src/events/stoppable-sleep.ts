/** The idle wait of a background loop (relay, webhooks), cut short when its service stops. */
export class StoppableSleep {
  private wake?: () => void;
  private stopped = false;

  get isStopped(): boolean {
    return this.stopped;
  }

  wait(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  stop(): void {
    this.stopped = true;
    this.wake?.();
  }
}
