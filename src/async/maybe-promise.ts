/**
 * A value now, or a promise of it when the work had to wait. The hot paths (the request edge, an
 * agent's empty poll) return a promise only when they must: while the request context's
 * AsyncLocalStorage is enabled (Node 20), every promise runs Node's async hooks.
 */
export type MaybePromise<T> = T | Promise<T>;

/** `next` on the value: at once when it is at hand, else when its promise resolves. */
export function andThen<T, U>(
  value: MaybePromise<T>,
  next: (value: T) => MaybePromise<U>,
): MaybePromise<U> {
  return value instanceof Promise ? value.then(next) : next(value);
}
