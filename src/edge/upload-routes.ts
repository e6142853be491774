/**
 * The routes whose body is an upload: read only after the caller is authenticated, and then under
 * UPLOAD_IDLE_TIMEOUT_SECONDS and REQUEST_TIMEOUT_SECONDS instead of the short BODY_TIMEOUT_SECONDS.
 * Route patterns as the controllers declare them, a parameter written `{}` whatever its name.
 */
export const UPLOAD_ROUTES: ReadonlySet<string> = new Set([
  '/rest/tasks/completeTask',
  '/rest/tasks/setTaskConfig',
  // ThreadFix's direct scan upload.
  '/rest/applications/{}/upload',
]);

/** Each route pattern's answer, worked out once: a request asks (src/edge/request-edge.ts). */
const uploadByPattern = new Map<string, boolean>();

/** Whether a Fastify route pattern (`/rest/applications/:applicationId/upload`) is an upload. */
export function isUploadRoute(pattern: string | undefined): boolean {
  if (pattern === undefined) return false;
  let upload = uploadByPattern.get(pattern);
  if (upload === undefined) {
    // Patterns are the routes' own (a few dozen), never a client's URL: the map stays small.
    upload = UPLOAD_ROUTES.has(pattern.replace(/:[^/]+/g, '{}'));
    uploadByPattern.set(pattern, upload);
  }
  return upload;
}
