/**
 * Caps on scan uploads in progress at once (issue 12, finding 11): per API key for completeTask and
 * the direct upload together, and per agent key for completeTask. Each upload may hold up to
 * MAX_UPLOAD_BYTES of temporary storage until its keys are checked, which may come after the file.
 * Counted in this process, like the temporary files they bound; a refusal (429) comes before the
 * file is read.
 */
import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { TooManyRequests } from '../rest/rest-error';

/** Gives back a slot; calling it again does nothing. */
export type ReleaseSlot = () => void;

/** At most `limit` holders per key; a key's entry exists only while it holds a slot. */
export class ConcurrencyCap<K> {
  private readonly held = new Map<K, number>();

  constructor(private readonly limit: number) {}

  tryAcquire(key: K): ReleaseSlot | undefined {
    const count = this.held.get(key) ?? 0;
    if (count >= this.limit) return undefined;
    this.held.set(key, count + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.held.get(key) ?? 1) - 1;
      if (left > 0) this.held.set(key, left);
      else this.held.delete(key);
    };
  }

  /** Slots held now for `key` (metrics and tests). */
  inUse(key: K): number {
    return this.held.get(key) ?? 0;
  }
}

@Injectable()
export class UploadSlots {
  private readonly perApiKey: ConcurrencyCap<number>;
  private readonly perAgent: ConcurrencyCap<string>;

  constructor(private readonly config: AppConfig) {
    this.perApiKey = new ConcurrencyCap(config.MAX_CONCURRENT_UPLOADS_PER_API_KEY);
    this.perAgent = new ConcurrencyCap(config.MAX_CONCURRENT_UPLOADS_PER_AGENT);
  }

  forApiKey(apiKeyId: number): ReleaseSlot {
    return acquire(
      this.perApiKey,
      apiKeyId,
      'This API key',
      this.config.MAX_CONCURRENT_UPLOADS_PER_API_KEY,
    );
  }

  /** `agentKeyHash`: the SHA-256 of the presented agent key (counted before it is checked). */
  forAgent(agentKeyHash: string): ReleaseSlot {
    return acquire(
      this.perAgent,
      agentKeyHash,
      'This scan agent',
      this.config.MAX_CONCURRENT_UPLOADS_PER_AGENT,
    );
  }
}

/** A slot of `cap` for `key`, or 429 naming `who` and its limit. */
function acquire<K>(cap: ConcurrencyCap<K>, key: K, who: string, limit: number): ReleaseSlot {
  const release = cap.tryAcquire(key);
  if (!release)
    throw new TooManyRequests(
      `${who} already has the most uploads in progress at once (${limit}); retry when one has finished.`,
    );
  return release;
}
