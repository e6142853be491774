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

/** Whether a Fastify route pattern (`/rest/applications/:applicationId/upload`) is an upload. */
export function isUploadRoute(pattern: string | undefined): boolean {
  return pattern !== undefined && UPLOAD_ROUTES.has(pattern.replace(/:[^/]+/g, '{}'));
}
