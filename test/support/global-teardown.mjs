export default async function globalTeardown() {
  await globalThis.__SCANQUEUE_EMBEDDED_PG__?.stop();
}
